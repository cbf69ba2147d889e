// Files others read while we replace them (resolv.conf, the saved clock, the
// SSH host key): written beside, then renamed over, so a reader sees the old
// or the new. `durable` files live on the users partition and must survive a
// power cut: the data, then the rename, reach the disk before this returns.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeAtomic(path: string, data: string, mode = 0o644, { durable = false } = {}): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (durable) syncFolder(dirname(path));
}

/** The folder's entries (a rename, a new file) on disk. */
function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
