// Firmware for the drivers in an initramfs: the files their .modinfo names
// (`firmware=rtl_nic/rtl8168h-2.fw`), taken from Debian's non-free firmware
// packages. The kernel reads /lib/firmware itself; no helper is needed.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CpioEntry } from '../initramfs/cpio';
import { downloadDeb, privateApt } from './apt';
import { exec } from './exec';
import { CACHE } from './paths';

export interface FirmwareFiles {
  entries: CpioEntry[];
  included: string[];
  /** Named by a driver, shipped by none of the packages. */
  missing: string[];
}

/** The unpacked packages, each once in the cache. */
async function unpackedPackages(packages: readonly string[]): Promise<string[]> {
  if (!packages.length) return [];
  const apt = privateApt(['non-free-firmware']);
  const dirs: string[] = [];
  for (const name of packages) {
    const pkg = apt.resolve(name);
    if (!pkg) throw new Error(`firmware: Debian has no package ${name}`);
    const dir = join(CACHE, 'firmware', `${pkg.name}_${pkg.version}`);
    if (!existsSync(dir)) {
      const deb = await downloadDeb(pkg, apt);
      rmSync(`${dir}.tmp`, { recursive: true, force: true });
      mkdirSync(dirname(dir), { recursive: true });
      exec('unpack firmware', 'dpkg-deb', ['-x', deb, `${dir}.tmp`]);
      renameSync(`${dir}.tmp`, dir);
    }
    dirs.push(dir);
  }
  return dirs;
}

export async function firmwareFiles(names: readonly string[], packages: readonly string[]): Promise<FirmwareFiles> {
  const dirs = await unpackedPackages(packages);
  const result: FirmwareFiles = { entries: [], included: [], missing: [] };
  for (const name of [...new Set(names)].sort()) {
    const file = dirs.flatMap((dir) => ['lib/firmware', 'usr/lib/firmware'].map((sub) => join(dir, sub, name))).find(existsSync);
    if (!file) {
      result.missing.push(name);
      continue;
    }
    result.entries.push({ type: 'file', path: `lib/firmware/${name}`, mode: 0o644, data: readFileSync(file) });
    result.included.push(name);
  }
  return result;
}
