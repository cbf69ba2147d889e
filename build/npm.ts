// npm for the image: the pinned `npm` package from the registry (pure
// JavaScript, its dependencies bundled inside it), cached like the Node
// binary, at /lib/node_modules/npm with npm and npx in /usr/bin.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { CpioEntry } from '../initramfs/cpio';
import { progress } from './exec';
import { fetchPackage } from './node-binary';
import { CACHE } from './paths';
import { NPM_VERSION } from './versions';

export const NPM_PREFIX = 'lib/node_modules/npm';

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

/** The pinned npm's folder, fetched once. */
export async function npmPackage(): Promise<string> {
  const dir = join(CACHE, 'npm', `npm-${NPM_VERSION}`);
  if (!existsSync(join(dir, 'package.json'))) await progress(`fetching npm@${NPM_VERSION} from the npm registry`, () => fetchPackage(`npm@${NPM_VERSION}`, dir));
  return dir;
}

/**
 * What of npm's package is not shipped: its man pages and HTML docs (`npm
 * help` shows them through `man` or a browser, neither of which NodeOS has;
 * it then searches docs/content, which stays), and the READMEs and change
 * logs of its dependencies (their licenses stay). About 0.36 MB of the
 * compressed initramfs.
 */
export function unshippedNpmFile(path: string): boolean {
  const inPackage = path.slice(NPM_PREFIX.length + 1);
  if (/^(man|docs\/output)(\/|$)/.test(inPackage)) return true;
  if (inPackage.startsWith('docs/content/')) return false; // what `npm help` searches
  const name = posix.basename(inPackage);
  return /\.(md|markdown)$/i.test(name) && !/^(licen[cs]e|copying)/i.test(name);
}

/** npm's files and the /usr/bin links, as archive entries. */
export async function npmEntries(): Promise<CpioEntry[]> {
  return [
    ...treeEntries(await npmPackage(), NPM_PREFIX).filter((entry) => !unshippedNpmFile(entry.path)),
    { type: 'symlink', path: 'usr/bin/npm', target: `/${NPM_PREFIX}/bin/npm-cli.js` },
    { type: 'symlink', path: 'usr/bin/npx', target: `/${NPM_PREFIX}/bin/npx-cli.js` },
  ];
}
