// `nodeos build --arch arm64 --platform rpi`: an SD card for Raspberry Pis
// (3 B/B+, 3 A+, Zero 2 W, 4 B, 400, CM4), to flash with dd, Raspberry Pi
// Imager or balenaEtcher. MBR, as the Pi's boot ROM reads it: partition 1 is
// FAT32 (type 0x0c, bootable) with the Pi firmware from Debian's
// raspi-firmware, Debian's kernel and device trees, our initramfs,
// config.txt and cmdline.txt; partition 2 is the ext4 users partition, found
// by its label (a Pi 4's card may be mmcblk1). Built from files, without
// root; the card's size is a power of two (QEMU's SD card insists) and the
// users partition fills it.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { aptFor, downloadDeb } from './apt';
import { assembleDisk, fatImage, MiB, roundUp, SECTOR } from './disk';
import { exec } from './exec';
import { debianKernel } from './kernel';
import { readManifest } from './manifest';
import { CACHE } from './paths';
import type { PcImageOptions } from './pc-image';
import { sizeBytes, usersImageWithDependencies } from './users-image';

export const BOOT_LABEL = 'NODEOS-BOOT';
export const SD_IMAGE = 'sdcard.img';
/** The boards' device trees in Debian's kernel (usr/lib/linux-image-RELEASE/broadcom/). */
export const PI_DTBS = ['bcm2837-rpi-3-b.dtb', 'bcm2837-rpi-3-b-plus.dtb', 'bcm2837-rpi-3-a-plus.dtb', 'bcm2837-rpi-zero-2-w.dtb', 'bcm2711-rpi-4-b.dtb', 'bcm2711-rpi-400.dtb', 'bcm2711-rpi-cm4-io.dtb'];
const FIRMWARE_PACKAGE = 'raspi-firmware';
/** Where raspi-firmware keeps the boot files (bootcode.bin, start*.elf, fixup*.dat). */
const FIRMWARE_DIR = 'usr/lib/raspi-firmware';
const FIRST_SECTOR = MiB / SECTOR;
const FAT32_MIN_CLUSTERS = 65525;

/**
 * The Pi firmware's settings: 64-bit, the GPIO UART on, the mainline device
 * trees' names (bcm2837-rpi-3-b.dtb, not the Foundation's bcm2710-*), our
 * kernel and initramfs (`initramfs` takes no `=`; followkernel loads it
 * right after the kernel).
 */
export function configTxt(kernel: string, initramfs: string): string {
  return [
    '# NodeOS: 64-bit, Debian\'s kernel and device trees (upstream names), the serial console on the GPIO UART.',
    'arm_64bit=1',
    'enable_uart=1',
    'upstream_kernel=1',
    `kernel=${kernel}`,
    `initramfs ${initramfs} followkernel`,
    '',
  ].join('\n');
}

/** cmdline.txt is one line: the kernel's command line. */
export const cmdlineTxt = (cmdline: string) => `${cmdline}\n`;

/** MBR: the boot partition (FAT32 LBA, bootable), then the users partition to the end of the card; the disk id from the build (not random). */
export function sdPartitionScript(bootSectors: number, usersSectors: number, diskId: string): string {
  return ['label: dos', `label-id: 0x${diskId}`, `start=${FIRST_SECTOR}, size=${bootSectors}, type=c, bootable`, `start=${FIRST_SECTOR + bootSectors}, size=${usersSectors}, type=83`, ''].join('\n');
}

/** The card's layout: a boot partition for `bootPayload` bytes, the users partition at least `usersBytes`, the whole a power of two. */
export function sdLayout(bootPayload: number, usersBytes: number): { bootBytes: number; usersBytes: number; cardBytes: number; sectorsPerCluster: number } {
  const bootBytes = Math.max(128 * MiB, roundUp(bootPayload * 1.25 + 16 * MiB, 16 * MiB));
  const cardBytes = 2 ** Math.ceil(Math.log2(MiB + bootBytes + usersBytes));
  // FAT32 needs 65525 clusters: small clusters on a small partition (with room for the FATs).
  let sectorsPerCluster = 8;
  while (sectorsPerCluster > 1 && bootBytes / (sectorsPerCluster * SECTOR) < FAT32_MIN_CLUSTERS * 1.1) sectorsPerCluster /= 2;
  return { bootBytes, usersBytes: cardBytes - MiB - bootBytes, cardBytes, sectorsPerCluster };
}

/** Debian's raspi-firmware, unpacked into the cache. */
async function piFirmware(arch: string): Promise<string> {
  const apt = aptFor(arch);
  if (!apt) throw new Error(`rpi: ${FIRMWARE_PACKAGE} comes through a private apt configuration for arm64`);
  const pkg = apt.resolve(FIRMWARE_PACKAGE);
  if (!pkg) throw new Error(`rpi: apt knows no ${FIRMWARE_PACKAGE} (Debian's non-free-firmware component)`);
  const dir = join(CACHE, 'firmware', `${pkg.name}_${pkg.version.replace(/[^\w.+-]/g, '_')}`);
  if (!existsSync(dir)) {
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    exec(`unpack ${pkg.name}`, 'dpkg-deb', ['-x', await downloadDeb(pkg, apt), tmp]);
    renameSync(tmp, dir);
  }
  return dir;
}

/** What goes on the boot partition: path on it → local file. */
async function bootFiles(manifestPath: string): Promise<Record<string, string>> {
  const manifest = readManifest(manifestPath);
  const dir = dirname(manifestPath);
  if (!manifest.initramfs) throw new Error('rpi: the image has no initramfs');
  const kernel = await debianKernel(manifest.arch, 'hardware');
  const dtbs = join(kernel.dir, 'usr', 'lib', `linux-image-${kernel.release}`, 'broadcom');
  const firmware = await piFirmware(manifest.arch);
  const boot = readdirSync(join(firmware, FIRMWARE_DIR)).filter((f) => /^(bootcode\.bin|start.*\.elf|fixup.*\.dat)$/.test(f));
  if (!boot.includes('bootcode.bin') || !boot.includes('start.elf') || !boot.includes('start4.elf')) throw new Error(`rpi: ${FIRMWARE_PACKAGE} lacks the boot files (found ${boot.join(', ')})`);
  const files: Record<string, string> = {
    vmlinuz: join(dir, manifest.kernel.path),
    'initrd.img': join(dir, manifest.initramfs.path),
    'raspi-firmware.copyright': join(firmware, 'usr', 'share', 'doc', FIRMWARE_PACKAGE, 'copyright'),
  };
  for (const name of boot) files[name] = join(firmware, FIRMWARE_DIR, name);
  for (const name of PI_DTBS) {
    if (!existsSync(join(dtbs, name))) throw new Error(`rpi: ${kernel.package} has no ${name}`);
    files[name] = join(dtbs, name);
  }
  return files;
}

/** Writes sdcard.img next to the manifest; returns its path. */
export async function buildSdImage(manifestPath: string, options: PcImageOptions): Promise<string> {
  const manifest = readManifest(manifestPath);
  const dir = dirname(manifestPath);
  const card = join(dir, SD_IMAGE);
  const files = await bootFiles(manifestPath);
  const payload = Object.values(files).reduce((sum, f) => sum + statSync(f).size, 0);
  const layout = sdLayout(payload, sizeBytes(options.usersSize));
  const [boot, users] = [join(dir, 'boot.img.tmp'), join(dir, 'users.img.tmp')];
  const empty = mkdtempSync(join(tmpdir(), 'nodeos-users-'));
  try {
    // The same build gives the same ids: the disk's and the boot filesystem's come from the image's fingerprint.
    const id = manifest.fingerprint.slice(0, 8);
    const fat = fatImage(boot, layout.bootBytes, BOOT_LABEL, { hiddenSectors: FIRST_SECTOR, sectorsPerCluster: layout.sectorsPerCluster, volumeId: id });
    try {
      for (const [path, local] of Object.entries(files)) fat.copy(local, path);
      fat.write('config.txt', configTxt('vmlinuz', 'initrd.img'));
      fat.write('cmdline.txt', cmdlineTxt(manifest.cmdline));
    } finally {
      fat.close();
    }
    await usersImageWithDependencies(options.usersDir ?? empty, users, { size: `${layout.usersBytes / MiB}M`, label: 'nodeos-users', owners: options.owners, passwords: options.passwords, arch: manifest.arch, registry: options.registry });
    assembleDisk(card, layout.cardBytes, sdPartitionScript(layout.bootBytes / SECTOR, layout.usersBytes / SECTOR, id), [
      { image: boot, offset: MiB },
      { image: users, offset: MiB + layout.bootBytes },
    ]);
  } finally {
    for (const file of [boot, users]) rmSync(file, { force: true });
    rmSync(empty, { recursive: true, force: true });
  }
  return card;
}
