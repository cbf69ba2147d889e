// npm for the image: the pinned `npm` package from the registry (pure
// JavaScript, its dependencies bundled inside it), cached like the Node
// binary, at /lib/node_modules/npm with npm and npx in /usr/bin.
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { CpioEntry } from '../initramfs/cpio';
import { progress } from './exec';
import { leanEntries } from './lean-package';
import { fetchPackage } from './node-binary';
import { CACHE } from './paths';
import { NPM_VERSION } from './versions';

export const NPM_PREFIX = 'lib/node_modules/npm';

/** The pinned npm's folder, fetched once. */
export async function npmPackage(): Promise<string> {
  const dir = join(CACHE, 'npm', `npm-${NPM_VERSION}`);
  if (!existsSync(join(dir, 'package.json'))) await progress(`fetching npm@${NPM_VERSION} from the npm registry`, () => fetchPackage(`npm@${NPM_VERSION}`, dir));
  return dir;
}

/**
 * Packages of npm's that NodeOS never runs, left out: iconv-lite (and its
 * safer-buffer), an optional dependency of minipass-fetch for a decoding npm
 * never asks for (minipass-fetch is written to do without it); undici, which
 * node-gyp uses only to download node's headers for a build, after it has
 * found Python and a compiler, neither of which NodeOS has.
 */
const UNUSED_PACKAGES = ['iconv-lite', 'safer-buffer', 'undici'];

/**
 * What of npm's package is not shipped: its man pages and HTML docs (`npm
 * help` shows them through `man` or a browser, neither of which NodeOS has;
 * it then searches docs/content, which stays), the READMEs and change logs
 * of its dependencies (their licenses stay), node-gyp's gyp, which is
 * Python (node-gyp, whose JavaScript stays, says there is no Python as it
 * would without it), and UNUSED_PACKAGES: about 0.5 MB of the compressed
 * initramfs (its JavaScript minified: 0.4 MB more).
 */
export function unshippedNpmFile(path: string): boolean {
  const inPackage = path.slice(NPM_PREFIX.length + 1);
  if (/^(man|docs\/output)(\/|$)/.test(inPackage)) return true;
  if (inPackage.startsWith('docs/content/')) return false; // what `npm help` searches
  if (UNUSED_PACKAGES.some((name) => inPackage === `node_modules/${name}` || inPackage.startsWith(`node_modules/${name}/`))) return true;
  const name = posix.basename(inPackage);
  if (name.endsWith('.py')) return true;
  return /\.(md|markdown)$/i.test(name) && !/^(licen[cs]e|copying)/i.test(name);
}

/** npm's files (lean: build/lean-package.ts) and the /usr/bin links, as archive entries. */
export async function npmEntries(): Promise<CpioEntry[]> {
  return [
    ...leanEntries(await npmPackage(), NPM_PREFIX, unshippedNpmFile),
    { type: 'symlink', path: 'usr/bin/npm', target: `/${NPM_PREFIX}/bin/npm-cli.js` },
    { type: 'symlink', path: 'usr/bin/npx', target: `/${NPM_PREFIX}/bin/npx-cli.js` },
  ];
}
