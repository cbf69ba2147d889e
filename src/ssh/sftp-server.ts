// The SFTP subsystem (dist/sftp-server.js): SFTP version 3 on stdin/stdout,
// as OpenSSH's sftp-server speaks it. PID 1 runs it through the launcher, so
// it is the user, in the user's view of the machine: it can do exactly what
// the user can. One client, one process; plain synchronous file calls.
import {
  closeSync, fstatSync, lstatSync, mkdirSync, openSync, opendirSync, readlinkSync, readSync, realpathSync, renameSync, rmdirSync, statSync,
  symlinkSync, unlinkSync, writeSync, chmodSync, fchmodSync, utimesSync, futimesSync, ftruncateSync, truncateSync, type Dir, type Stats, constants,
} from 'node:fs';
import { resolve } from 'node:path';

export const TYPE = {
  INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, LSTAT: 7, FSTAT: 8, SETSTAT: 9, FSETSTAT: 10, OPENDIR: 11, READDIR: 12,
  REMOVE: 13, MKDIR: 14, RMDIR: 15, REALPATH: 16, STAT: 17, RENAME: 18, READLINK: 19, SYMLINK: 20,
  STATUS: 101, HANDLE: 102, DATA: 103, NAME: 104, ATTRS: 105,
} as const;
export const STATUS = { OK: 0, EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, OP_UNSUPPORTED: 8 } as const;
const OPEN = { READ: 1, WRITE: 2, APPEND: 4, CREAT: 8, TRUNC: 0x10, EXCL: 0x20 };
const ATTR = { SIZE: 1, UIDGID: 2, PERMISSIONS: 4, ACMODTIME: 8, EXTENDED: 0x80000000 };
/** The most one READ returns, and the largest packet taken (OpenSSH's limits). */
const MAX_READ = 256 * 1024;
const MAX_PACKET = 256 * 1024 + 1024;

/** Reads the fields of one request. */
class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  u8 = () => this.buf.readUInt8((this.at += 1) - 1);
  u32 = () => this.buf.readUInt32BE((this.at += 4) - 4);
  u64 = () => Number(this.buf.readBigUInt64BE((this.at += 8) - 8));
  bytes = () => {
    const length = this.u32();
    if (this.at + length > this.buf.length) throw new RangeError('string past the end of the packet');
    return this.buf.subarray(this.at, (this.at += length));
  };
  string = () => this.bytes().toString('utf8');
  attrs = (): Attrs => {
    const flags = this.u32();
    const attrs: Attrs = {};
    if (flags & ATTR.SIZE) attrs.size = this.u64();
    if (flags & ATTR.UIDGID) (attrs.uid = this.u32()), (attrs.gid = this.u32());
    if (flags & ATTR.PERMISSIONS) attrs.mode = this.u32();
    if (flags & ATTR.ACMODTIME) (attrs.atime = this.u32()), (attrs.mtime = this.u32());
    if (flags & ATTR.EXTENDED) for (let n = this.u32(); n > 0; n--) this.bytes(), this.bytes();
    return attrs;
  };
}

interface Attrs {
  size?: number;
  uid?: number;
  gid?: number;
  mode?: number;
  atime?: number;
  mtime?: number;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
};
const encodeAttrs = (s: Stats) =>
  Buffer.concat([u32(ATTR.SIZE | ATTR.UIDGID | ATTR.PERMISSIONS | ATTR.ACMODTIME), u64(s.size), u32(s.uid), u32(s.gid), u32(s.mode), u32(Math.floor(s.atimeMs / 1000)), u32(Math.floor(s.mtimeMs / 1000))]);

/** `ls -l`-style, which sftp's ls shows. */
function longName(name: string, s: Stats): string {
  const kind = s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : '-';
  const bits = 'rwxrwxrwx'.replace(/./g, (c, i) => (s.mode & (0o400 >> i) ? c : '-'));
  const date = new Date(s.mtimeMs).toISOString().slice(0, 16).replace('T', ' ');
  return `${kind}${bits} 1 ${s.uid} ${s.gid} ${String(s.size).padStart(8)} ${date} ${name}`;
}

const statusOf = (err: unknown): number => {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return STATUS.NO_SUCH_FILE;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return STATUS.PERMISSION_DENIED;
  return STATUS.FAILURE;
};

function openFlags(pflags: number): number {
  const { O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_CREAT, O_TRUNC, O_EXCL, O_NOFOLLOW } = constants;
  let flags = pflags & OPEN.READ && pflags & OPEN.WRITE ? O_RDWR : pflags & OPEN.WRITE ? O_WRONLY : O_RDONLY;
  if (pflags & OPEN.APPEND) flags |= O_APPEND;
  if (pflags & OPEN.CREAT) flags |= O_CREAT;
  if (pflags & OPEN.TRUNC) flags |= O_TRUNC;
  if (pflags & OPEN.EXCL) flags |= O_EXCL | O_NOFOLLOW;
  return flags;
}

/** Serves one client: `handle(packet)` returns the reply packet (type byte onwards). */
export class SftpServer {
  private readonly files = new Map<string, number>();
  private readonly dirs = new Map<string, { path: string; dir: Dir }>();
  private next = 0;

  constructor(private readonly cwd: string) {}

  handle(packet: Buffer): Buffer {
    const r = new Reader(packet);
    const type = r.u8();
    if (type === TYPE.INIT) return Buffer.concat([Buffer.from([TYPE.VERSION]), u32(3)]);
    const id = r.u32();
    try {
      return this.request(type, id, r);
    } catch (err) {
      if (err instanceof RangeError) return this.status(id, STATUS.BAD_MESSAGE, 'malformed request');
      return this.status(id, statusOf(err), (err as Error).message);
    }
  }

  private request(type: number, id: number, r: Reader): Buffer {
    const path = () => resolve(this.cwd, r.string());
    switch (type) {
      case TYPE.OPEN: {
        const file = path();
        const pflags = r.u32();
        const attrs = r.attrs();
        return this.handleReply(id, this.files, openSync(file, openFlags(pflags), attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o644));
      }
      case TYPE.CLOSE: {
        const handle = r.string();
        if (this.files.has(handle)) closeSync(this.files.get(handle)!), this.files.delete(handle);
        else if (this.dirs.has(handle)) this.dirs.get(handle)!.dir.closeSync(), this.dirs.delete(handle);
        else return this.status(id, STATUS.FAILURE, 'no such handle');
        return this.status(id, STATUS.OK);
      }
      case TYPE.READ: {
        const fd = this.fd(r.string());
        const offset = r.u64();
        const buf = Buffer.alloc(Math.min(r.u32(), MAX_READ));
        const n = readSync(fd, buf, 0, buf.length, offset);
        return n === 0 ? this.status(id, STATUS.EOF) : Buffer.concat([Buffer.from([TYPE.DATA]), u32(id), str(buf.subarray(0, n))]);
      }
      case TYPE.WRITE: {
        const fd = this.fd(r.string());
        const offset = r.u64();
        const data = r.bytes();
        for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, offset + done);
        return this.status(id, STATUS.OK);
      }
      case TYPE.LSTAT:
        return this.attrsReply(id, lstatSync(path()));
      case TYPE.STAT:
        return this.attrsReply(id, statSync(path()));
      case TYPE.FSTAT:
        return this.attrsReply(id, fstatSync(this.fd(r.string())));
      case TYPE.SETSTAT: {
        const file = path();
        this.setAttrs(r.attrs(), { truncate: (n) => truncateSync(file, n), chmod: (m) => chmodSync(file, m), utimes: (a, m) => utimesSync(file, a, m) });
        return this.status(id, STATUS.OK);
      }
      case TYPE.FSETSTAT: {
        const fd = this.fd(r.string());
        this.setAttrs(r.attrs(), { truncate: (n) => ftruncateSync(fd, n), chmod: (m) => fchmodSync(fd, m), utimes: (a, m) => futimesSync(fd, a, m) });
        return this.status(id, STATUS.OK);
      }
      case TYPE.OPENDIR: {
        const dir = path();
        return this.handleReply(id, this.dirs, { path: dir, dir: opendirSync(dir) });
      }
      case TYPE.READDIR: {
        const entry = this.dirs.get(r.string());
        if (!entry) return this.status(id, STATUS.FAILURE, 'no such handle');
        const names: Buffer[] = [];
        for (let d = entry.dir.readSync(); d && names.length < 100; d = names.length < 100 ? entry.dir.readSync() : null) {
          const s = lstatSync(resolve(entry.path, d.name));
          names.push(Buffer.concat([str(d.name), str(longName(d.name, s)), encodeAttrs(s)]));
        }
        return names.length ? Buffer.concat([Buffer.from([TYPE.NAME]), u32(id), u32(names.length), ...names]) : this.status(id, STATUS.EOF);
      }
      case TYPE.REMOVE:
        return unlinkSync(path()), this.status(id, STATUS.OK);
      case TYPE.MKDIR: {
        const dir = path();
        const attrs = r.attrs();
        return mkdirSync(dir, { mode: attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o755 }), this.status(id, STATUS.OK);
      }
      case TYPE.RMDIR:
        return rmdirSync(path()), this.status(id, STATUS.OK);
      case TYPE.REALPATH: {
        const real = realpathSync(path());
        return this.name(id, real, statSync(real));
      }
      case TYPE.RENAME: {
        const [from, to] = [path(), path()];
        return renameSync(from, to), this.status(id, STATUS.OK);
      }
      case TYPE.READLINK: {
        const target = readlinkSync(path());
        return this.name(id, target);
      }
      case TYPE.SYMLINK: {
        // OpenSSH's (reversed from the draft) order: target first, then the link.
        const [target, link] = [r.string(), path()];
        return symlinkSync(target, link), this.status(id, STATUS.OK);
      }
      default:
        return this.status(id, STATUS.OP_UNSUPPORTED, `request ${type} is not supported`);
    }
  }

  private setAttrs(attrs: Attrs, ops: { truncate(n: number): void; chmod(mode: number): void; utimes(a: number, m: number): void }): void {
    if (attrs.size !== undefined) ops.truncate(attrs.size);
    if (attrs.mode !== undefined) ops.chmod(attrs.mode & 0o7777);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) ops.utimes(attrs.atime, attrs.mtime);
    // uid/gid changes are not the user's to make; left out as OpenSSH's server would fail them.
  }

  private fd(handle: string): number {
    const fd = this.files.get(handle);
    if (fd === undefined) throw Object.assign(new Error('no such handle'), { code: 'EBADF' });
    return fd;
  }

  private handleReply<T>(id: number, table: Map<string, T>, value: T): Buffer {
    const handle = String(++this.next);
    table.set(handle, value);
    return Buffer.concat([Buffer.from([TYPE.HANDLE]), u32(id), str(handle)]);
  }

  private attrsReply = (id: number, s: Stats) => Buffer.concat([Buffer.from([TYPE.ATTRS]), u32(id), encodeAttrs(s)]);

  private name = (id: number, name: string, s?: Stats) =>
    Buffer.concat([Buffer.from([TYPE.NAME]), u32(id), u32(1), str(name), str(s ? longName(name, s) : name), s ? encodeAttrs(s) : u32(0)]);

  private status = (id: number, code: number, message = '') => Buffer.concat([Buffer.from([TYPE.STATUS]), u32(id), u32(code), str(message), str('')]);
}

/** Length-prefixed packets in, replies out, until stdin ends. */
function main(): void {
  const server = new SftpServer(process.cwd());
  let pending = Buffer.alloc(0);
  process.stdin.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (length > MAX_PACKET || length === 0) return process.exit(1); // not SFTP, or hostile: OpenSSH's server gives up too
      if (pending.length < 4 + length) break;
      const reply = server.handle(pending.subarray(4, 4 + length));
      pending = pending.subarray(4 + length);
      process.stdout.write(Buffer.concat([u32(reply.length), reply]));
    }
  });
}

if (require.main === module) main();
