// Debian packages, fetched the way a user can without root: apt-cache to
// resolve a meta package, apt-get download into the cache.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { exec, progress } from './exec';
import { CACHE } from './paths';

/** The package a meta package depends on whose name starts with `prefix`. */
export function parseDepends(output: string, prefix: string): string | undefined {
  return new RegExp(`Depends:\\s*(${prefix}\\S+)`).exec(output)?.[1];
}

/** e.g. linux-image-cloud-amd64 → linux-image-6.1.0-56-cloud-amd64 and its candidate version. Throws without apt-cache. */
export function resolvePackage(meta: string, prefix: string): { name: string; version: string } | undefined {
  const name = parseDepends(exec('apt-cache', 'apt-cache', ['depends', meta]), prefix);
  const version = name && /^Version:\s*(\S+)/m.exec(exec('apt-cache', 'apt-cache', ['show', '--no-all-versions', name]))?.[1];
  return name && version ? { name, version } : undefined;
}

/** The .deb of that exact version, downloaded into the cache once. */
export async function downloadDeb(pkg: { name: string; version: string }): Promise<string> {
  const downloads = join(CACHE, 'downloads');
  mkdirSync(downloads, { recursive: true });
  // apt-get writes ':' in versions as %3a.
  const find = () => readdirSync(downloads).find((f) => f.startsWith(`${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_`) && f.endsWith('.deb'));
  if (!find()) {
    await progress(`fetching ${pkg.name} ${pkg.version} from Debian`, () => exec('apt-get download', 'apt-get', ['download', `${pkg.name}=${pkg.version}`], { cwd: downloads }));
  }
  const deb = find();
  if (!deb) throw new Error(`apt-get download: no ${pkg.name} ${pkg.version} .deb in ${downloads}`);
  return join(downloads, deb);
}
