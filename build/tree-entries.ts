// Folders and archive entries, both ways: a folder of the build's as entries,
// for what the image carries as it is on disk (npm, blessed, the compile
// cache), and entries written out as a folder (a lean package in the cache,
// a root tree for the tests).
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
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

/** Archive entries written out under `root`, at their paths: folders and files with their modes, links; device nodes left out. */
export function writeEntries(entries: readonly CpioEntry[], root: string): void {
  for (const entry of entries) {
    const at = join(root, entry.path);
    if (entry.type === 'char' || entry.type === 'block') continue;
    mkdirSync(entry.type === 'dir' ? at : dirname(at), { recursive: true });
    if (entry.type === 'symlink') symlinkSync(entry.target, at);
    else if (entry.type === 'file') writeFileSync(at, entry.data);
    if (entry.type !== 'symlink') chmodSync(at, entry.mode);
  }
}
