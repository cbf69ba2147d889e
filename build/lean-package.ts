// JavaScript packages the image ships as folders (npm, blessed), made
// smaller: files NodeOS cannot use are left out, and JavaScript loses its
// comments and whitespace (esbuild, nothing renamed or rewritten: the same
// program). With what each leaves out, npm goes from 1.68 to 0.77 MB of
// the compressed initramfs, blessed from 0.16 to 0.11 MB. Made once per
// package content, kept in the cache.
import { createHash } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { transformSync, version as esbuildVersion } from 'esbuild';
import type { CpioEntry } from '../initramfs/cpio';
import { treeEntries, writeEntries } from './tree-entries';
import { CACHE } from './paths';

/** `dir` as archive entries under `prefix`, without what `drop` names (by archive path), its JavaScript minified. */
export function leanEntries(dir: string, prefix: string, drop: (path: string) => boolean): CpioEntry[] {
  const kept = treeEntries(dir, prefix).filter((entry) => !drop(entry.path));
  const key = createHash('sha256').update(`esbuild ${esbuildVersion}\0`);
  for (const entry of kept) key.update(`${entry.type} ${entry.path} ${'mode' in entry ? entry.mode : ''}\0`).update(entry.type === 'file' ? entry.data : entry.type === 'symlink' ? entry.target : '');
  const lean = join(CACHE, 'lean', key.digest('hex').slice(0, 16));
  if (!existsSync(lean)) {
    rmSync(`${lean}.tmp`, { recursive: true, force: true });
    writeEntries(kept.map((entry) => (entry.type === 'file' ? { ...entry, data: minified(entry.path, entry.data) } : entry)), `${lean}.tmp`);
    renameSync(`${lean}.tmp`, lean);
  }
  return treeEntries(join(lean, prefix), prefix);
}

/** A script without comments (licenses kept) and whitespace; anything esbuild cannot parse stays as it is. */
function minified(path: string, data: Buffer): Buffer {
  if (!/\.[cm]?js$/.test(path)) return data;
  try {
    return Buffer.from(transformSync(data.toString('utf8'), { loader: 'js', minifyWhitespace: true, legalComments: 'inline', logLevel: 'silent' }).code);
  } catch {
    return data;
  }
}
