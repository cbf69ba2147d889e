// A writer for the kernel's initramfs format: cpio "newc" (070701), see the
// kernel's Documentation/driver-api/early-userspace/buffer-format.rst. Every
// entry is written as given (root-owned unless said otherwise), sorted by
// path, with one mtime, so the same inputs give the same bytes. Device nodes
// are just headers, so building needs no root.

export type CpioEntry =
  | { type: 'dir'; path: string; mode: number; uid?: number; gid?: number }
  | { type: 'file'; path: string; mode: number; data: Buffer; uid?: number; gid?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char' | 'block'; path: string; mode: number; major: number; minor: number };

const TYPE_BITS = { dir: 0o040000, file: 0o100000, symlink: 0o120000, char: 0o020000, block: 0o060000 } as const;

const hex = (n: number) => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio: field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
};
const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);

/** Paths are archive-relative ("bin/node"); a leading "/" is dropped. */
const normalize = (path: string) => path.replace(/^\/+/, '').replace(/\/+$/, '');

/**
 * Adds the directories that entries live in but that were not listed (0755,
 * root); returns archive-relative paths in archive order (parents first).
 */
export function withParents(entries: readonly CpioEntry[]): CpioEntry[] {
  const paths = new Set(entries.map((e) => normalize(e.path)));
  const parents: CpioEntry[] = [];
  for (const entry of entries) {
    const parts = normalize(entry.path).split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!paths.has(dir)) {
        paths.add(dir);
        parents.push({ type: 'dir', path: dir, mode: 0o755 });
      }
    }
  }
  return sortEntries([...entries, ...parents]);
}

const sortEntries = (entries: readonly CpioEntry[]) =>
  entries.map((e) => ({ ...e, path: normalize(e.path) })).sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));

function header(name: string, fields: { ino: number; mode: number; uid: number; gid: number; nlink: number; mtime: number; size: number; rdevMajor: number; rdevMinor: number }): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const text =
    '070701' +
    [fields.ino, fields.mode, fields.uid, fields.gid, fields.nlink, fields.mtime, fields.size, 0, 0, fields.rdevMajor, fields.rdevMinor, nameBytes.length, 0]
      .map(hex)
      .join('');
  const head = Buffer.concat([Buffer.from(text, 'ascii'), nameBytes]);
  return Buffer.concat([head, pad4(head.length)]);
}

/** The archive, chunk by chunk (headers and file data), ending with the trailer. */
export function* cpioChunks(entries: readonly CpioEntry[], mtime: number): Generator<Buffer> {
  const sorted = sortEntries(entries);
  let ino = 1;
  for (let i = 0; i < sorted.length; i++) {
    const entry = sorted[i];
    if (!entry.path) throw new Error('cpio: empty path');
    if (i > 0 && sorted[i - 1].path === entry.path) throw new Error(`cpio: duplicate path ${entry.path}`);
    const data = entry.type === 'file' ? entry.data : entry.type === 'symlink' ? Buffer.from(entry.target) : Buffer.alloc(0);
    const perm = entry.type === 'symlink' ? 0o777 : entry.mode & 0o7777;
    const owner = entry.type === 'dir' || entry.type === 'file' ? { uid: entry.uid ?? 0, gid: entry.gid ?? 0 } : { uid: 0, gid: 0 };
    const device = entry.type === 'char' || entry.type === 'block' ? { rdevMajor: entry.major, rdevMinor: entry.minor } : { rdevMajor: 0, rdevMinor: 0 };
    yield header(entry.path, { ino: ino++, mode: TYPE_BITS[entry.type] | perm, ...owner, nlink: entry.type === 'dir' ? 2 : 1, mtime, size: data.length, ...device });
    if (data.length) {
      yield data;
      yield pad4(data.length);
    }
  }
  yield header('TRAILER!!!', { ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0, rdevMajor: 0, rdevMinor: 0 });
}

export const cpioBuffer = (entries: readonly CpioEntry[], mtime: number) => Buffer.concat([...cpioChunks(entries, mtime)]);
