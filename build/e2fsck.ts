// Debian's statically linked e2fsck (package e2fsck-static) for the image, at
// /sbin/e2fsck: PID 1 checks the users partition with it before mounting
// (src/fsck.ts). Static, so it needs none of the libraries node does not.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CpioEntry } from '../initramfs/cpio';
import { E2FSCK } from '../src/fsck';
import { aptFor, candidate, downloadDeb } from './apt';
import { exec } from './exec';
import { CACHE } from './paths';

export const E2FSCK_PACKAGE = 'e2fsck-static';

export async function e2fsckEntries(arch: string): Promise<CpioEntry[]> {
  const apt = aptFor(arch);
  const pkg = apt ? apt.resolve(E2FSCK_PACKAGE) : candidate(E2FSCK_PACKAGE);
  if (!pkg) throw new Error(`e2fsck: apt knows no ${E2FSCK_PACKAGE} for ${arch} (apt-get update?)`);
  const file = join(CACHE, 'e2fsck', `${pkg.name}_${pkg.version}_${pkg.arch}`.replace(/[^\w.+-]/g, '_'));
  if (!existsSync(file)) {
    const deb = await downloadDeb(pkg, apt);
    const tmp = `${file}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(dirname(file), { recursive: true });
    exec(`unpack ${pkg.name}`, 'dpkg-deb', ['-x', deb, tmp]);
    renameSync(join(tmp, 'sbin', 'e2fsck.static'), file);
    rmSync(tmp, { recursive: true, force: true });
  }
  return [{ type: 'file', path: E2FSCK.slice(1), mode: 0o755, data: readFileSync(file) }];
}
