// The kernel: Debian's cloud kernel package, downloaded with apt-get (no root
// needed) and unpacked with dpkg-deb, cached by package and version.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CACHE } from './paths';
import { exec, progress } from './exec';
import { archInfo } from './versions';

export interface Kernel {
  package: string;
  version: string;
  /** The bootable image (boot/vmlinuz-*). */
  image: string;
  /** The unpacked package, lib/modules included. */
  dir: string;
  /** uname -r of this kernel, the name of its lib/modules folder. */
  release: string;
}

/** The kernel package a meta package depends on, e.g. linux-image-6.1.0-56-cloud-amd64. */
export function parseDepends(output: string): string | undefined {
  return /Depends:\s*(linux-image-\S+)/.exec(output)?.[1];
}

export async function debianKernel(arch: string): Promise<Kernel> {
  const meta = archInfo(arch).kernelPackage;
  let pkg: string | undefined;
  let version: string | undefined;
  try {
    pkg = parseDepends(exec('apt-cache', 'apt-cache', ['depends', meta]));
    if (pkg) version = /^Version:\s*(\S+)/m.exec(exec('apt-cache', 'apt-cache', ['show', '--no-all-versions', pkg]))?.[1];
  } catch {
    // No package lists: fall back on what is cached.
  }
  if (!pkg || !version) return cachedKernel(meta);
  const dir = join(CACHE, 'kernel', `${pkg}_${version}`);
  if (!existsSync(join(dir, 'boot'))) await progress(`fetching ${pkg} ${version} from Debian`, () => fetchKernel(pkg!, dir));
  return kernelIn(dir, pkg, version);
}

function fetchKernel(pkg: string, dir: string): void {
  const downloads = join(CACHE, 'downloads');
  mkdirSync(downloads, { recursive: true });
  exec('apt-get download', 'apt-get', ['download', pkg], { cwd: downloads });
  const deb = readdirSync(downloads).find((name) => name.startsWith(`${pkg}_`) && name.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download: no ${pkg} .deb in ${downloads}`);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  exec('unpack kernel', 'dpkg-deb', ['-x', join(downloads, deb), tmp]);
  renameSync(tmp, dir);
}

function kernelIn(dir: string, pkg: string, version: string): Kernel {
  const image = readdirSync(join(dir, 'boot')).find((name) => name.startsWith('vmlinuz-'));
  if (!image) throw new Error(`kernel: no boot/vmlinuz-* in ${dir}`);
  return { package: pkg, version, image: join(dir, 'boot', image), dir, release: image.slice('vmlinuz-'.length) };
}

function cachedKernel(meta: string): Kernel {
  const root = join(CACHE, 'kernel');
  const flavour = meta.replace(/^linux-image-/, '');
  const found = existsSync(root) ? readdirSync(root).filter((name) => name.includes(flavour) && !name.endsWith('.tmp')).sort().pop() : undefined;
  if (!found) throw new Error(`kernel: apt-cache knows no ${meta} and none is cached; run apt-get update (Debian/Ubuntu) first`);
  const [pkg, version] = found.split('_');
  return kernelIn(join(root, found), pkg, version);
}
