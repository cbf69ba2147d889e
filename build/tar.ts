// A writer for tar archives (POSIX ustar, with pax headers for what ustar
// cannot hold), the format of a container image's layers and of the archive
// `docker load` and `podman load` read. It takes the same entries as the
// initramfs writer: sorted by path, one mtime, owners as given (root unless
// said otherwise), so the same inputs give the same bytes. Device nodes are
// refused: an engine provides /dev, and creating them needs privileges an
// unpacking engine may not have.
import type { CpioEntry } from '../initramfs/cpio';
import { withParents } from '../initramfs/cpio';

const BLOCK = 512;
const TYPE_FLAG = { file: '0', symlink: '2', dir: '5', pax: 'x' } as const;

/** A ustar numeric field: octal, zero-padded, NUL-terminated. */
function octal(value: number, width: number): string {
  const digits = value.toString(8);
  if (!Number.isInteger(value) || value < 0 || digits.length > width - 1) throw new RangeError(`tar: field out of range: ${value}`);
  return `${digits.padStart(width - 1, '0')}\0`;
}

interface Header {
  name: string;
  prefix?: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname?: string;
}

function headerBlock(h: Header): Buffer {
  const block = Buffer.alloc(BLOCK);
  const put = (text: string, offset: number, width: number) => {
    const bytes = Buffer.from(text);
    if (bytes.length > width) throw new RangeError(`tar: ${JSON.stringify(text)} longer than ${width} bytes`);
    bytes.copy(block, offset);
  };
  put(h.name, 0, 100);
  put(octal(h.mode, 8), 100, 8);
  put(octal(h.uid, 8), 108, 8);
  put(octal(h.gid, 8), 116, 8);
  put(octal(h.size, 12), 124, 12);
  put(octal(h.mtime, 12), 136, 12);
  put('        ', 148, 8); // the checksum counts its own field as spaces
  put(h.type, 156, 1);
  put(h.linkname ?? '', 157, 100);
  put('ustar\x0000', 257, 8);
  put(h.uid === 0 ? 'root' : '', 265, 32);
  put(h.gid === 0 ? 'root' : '', 297, 32);
  put(h.prefix ?? '', 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

const ascii = (text: string) => text.replace(/[^\x20-\x7e]/g, '_');
const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** ustar's split of a long path into prefix (≤ 155 bytes) and name (≤ 100) at a slash, if one works. */
export function splitPath(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name) return { prefix, name };
  }
  return undefined;
}

/** A pax record: "LEN key=value\n", LEN counting the whole record including itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** The archive, block by block: each entry's header (a pax header first when needed) and data, then two zero blocks. */
export function* tarChunks(entries: readonly CpioEntry[], mtime: number): Generator<Buffer> {
  let previous: string | undefined;
  for (const entry of withParents(entries)) {
    if (entry.type === 'char' || entry.type === 'block') throw new Error(`tar: ${entry.path}: device nodes are not put in layers`);
    if (entry.path === previous) throw new Error(`tar: duplicate path ${entry.path}`);
    previous = entry.path;
    const path = entry.type === 'dir' ? `${entry.path}/` : entry.path;
    const data = entry.type === 'file' ? entry.data : Buffer.alloc(0);
    const linkname = entry.type === 'symlink' ? entry.target : '';
    const split = splitPath(path);
    const records = [...(split ? [] : [paxRecord('path', path)]), ...(Buffer.byteLength(linkname) > 100 ? [paxRecord('linkpath', linkname)] : [])];
    const owner = entry.type === 'dir' || entry.type === 'file' ? { uid: entry.uid ?? 0, gid: entry.gid ?? 0 } : { uid: 0, gid: 0 };
    if (records.length) {
      const pax = Buffer.from(records.join(''));
      yield headerBlock({ name: 'PaxHeader', mode: 0o644, uid: 0, gid: 0, size: pax.length, mtime, type: TYPE_FLAG.pax });
      yield pax;
      yield padding(pax.length);
    }
    // Where pax holds the real value, the ustar field gets an ASCII stand-in for readers without pax.
    const { prefix, name } = split ?? { prefix: '', name: ascii(path).slice(-100) };
    const mode = entry.type === 'symlink' ? 0o777 : entry.mode & 0o7777;
    yield headerBlock({ name, prefix, mode, ...owner, size: data.length, mtime, type: TYPE_FLAG[entry.type], linkname: Buffer.byteLength(linkname) > 100 ? ascii(linkname).slice(0, 100) : linkname });
    if (data.length) {
      yield data;
      yield padding(data.length);
    }
  }
  yield Buffer.alloc(2 * BLOCK);
}

export const tarBuffer = (entries: readonly CpioEntry[], mtime: number) => Buffer.concat([...tarChunks(entries, mtime)]);
