// The kernel: one of Debian's kernel packages (cloud or generic), downloaded with apt-get (no root
// needed) and unpacked with dpkg-deb, cached by package and version.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CACHE } from './paths';
import { aptFor, downloadDeb, resolvePackage, type DebPackage } from './apt';
import { exec } from './exec';
import { archInfo, type KernelKind } from './versions';

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

export async function debianKernel(arch: string, kind: KernelKind): Promise<Kernel> {
  const meta = archInfo(arch).kernels[kind];
  let pkg: DebPackage | undefined;
  const apt = aptFor(arch);
  try {
    pkg = resolvePackage(meta, 'linux-image-', apt);
  } catch {
    // No package lists: fall back on what is cached.
  }
  if (!pkg) return cachedKernel(meta);
  const dir = join(CACHE, 'kernel', `${pkg.name}_${pkg.version}`);
  if (!existsSync(join(dir, 'boot'))) {
    const deb = await downloadDeb(pkg, apt);
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    exec('unpack kernel', 'dpkg-deb', ['-x', deb, tmp]);
    renameSync(tmp, dir);
  }
  return kernelIn(dir, pkg.name, pkg.version);
}

function kernelIn(dir: string, pkg: string, version: string): Kernel {
  const image = readdirSync(join(dir, 'boot')).find((name) => name.startsWith('vmlinuz-'));
  if (!image) throw new Error(`kernel: no boot/vmlinuz-* in ${dir}`);
  return { package: pkg, version, image: join(dir, 'boot', image), dir, release: image.slice('vmlinuz-'.length) };
}

function cachedKernel(meta: string): Kernel {
  const root = join(CACHE, 'kernel');
  const flavour = meta.replace(/^linux-image-/, '');
  // linux-image-6.1.0-56-amd64_… is the generic flavour, linux-image-6.1.0-56-cloud-amd64_… the cloud one.
  const ours = new RegExp(`^linux-image-[\\d.]+-\\d+-${flavour}_[^/]+$`);
  const found = existsSync(root) ? readdirSync(root).filter((name) => ours.test(name) && !name.endsWith('.tmp')).sort().pop() : undefined;
  if (!found) throw new Error(`kernel: apt-cache knows no ${meta} and none is cached; run apt-get update (Debian/Ubuntu) first`);
  const [pkg, version] = found.split('_');
  return kernelIn(join(root, found), pkg, version);
}
