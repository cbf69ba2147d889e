// A folder of the build's as archive entries, for what the image carries as
// it is on disk (npm, blessed, the compile cache).
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { CpioEntry } from '../initramfs/cpio';

/** A folder as archive entries under `prefix`: files keep their modes (executable or not), owned by root. */
export function treeEntries(dir: string, prefix: string): CpioEntry[] {
  const entries: CpioEntry[] = [{ type: 'dir', path: prefix, mode: 0o755 }];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const archived = posix.join(prefix, name);
    const stat = lstatSync(path);
    if (stat.isDirectory()) entries.push(...treeEntries(path, archived));
    else if (stat.isSymbolicLink()) entries.push({ type: 'symlink', path: archived, target: readlinkSync(path) });
    else entries.push({ type: 'file', path: archived, mode: stat.mode & 0o111 ? 0o755 : 0o644, data: readFileSync(path) });
  }
  return entries;
}
