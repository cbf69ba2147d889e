// `nodeos build --platform pc`: one disk image for PCs, to write to a USB
// stick or a disk. GPT with two partitions: the EFI System Partition
// (FAT32, read-only to the system: the kernel, the initramfs and two boot
// loaders from Debian's packages) and the users partition (ext4, label
// nodeos-users). UEFI firmware starts systemd-boot; a legacy BIOS runs
// syslinux's GPT MBR code, which starts syslinux from the same partition
// (marked legacy-BIOS-bootable). Both boot the same kernel, initramfs and
// command line. Built from files, without root or loop devices.
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exec } from './exec';
import { assembleDisk, fatImage, MiB, roundUp, SECTOR } from './disk';
import { readManifest } from './manifest';
import { usersImageWithDependencies, type Owner } from './users-image';

export const SYSTEMD_BOOT = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';
/** syslinux's MBR boot code for GPT disks (syslinux-common); the `syslinux` installer writes the partition's boot sector. */
export const GPT_MBR = '/usr/lib/syslinux/mbr/gptmbr.bin';
export const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
export const LINUX_TYPE = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
/** The ESP starts 1 MiB in (after the GPT), as partitioning tools align it. */
const ESP_START = MiB;
const MBR_CODE_BYTES = 440;
/** The boot indicator of the MBR's first partition entry, and its value for "active". */
const MBR_FIRST_ENTRY = 446;
const ACTIVE = 0x80;

export interface PcImageOptions {
  /** The users partition's contents; empty when not given. */
  usersDir?: string;
  usersSize: string;
  owners: Readonly<Record<string, Owner>>;
  /** name → passwd file content (--password) */
  passwords?: Readonly<Record<string, string>>;
  /** npm's registry for the homes' build-time installs. */
  registry?: string;
}

/** The boot loaders' configurations (systemd-boot for UEFI, syslinux for BIOS): boot the one entry at once. */
export function loaderFiles(cmdline: string, initramfs: string | undefined): Record<string, string> {
  return {
    'loader/loader.conf': 'default nodeos.conf\ntimeout 0\neditor no\n',
    'loader/entries/nodeos.conf': `title NodeOS\nlinux /vmlinuz\n${initramfs ? `initrd /${initramfs}\n` : ''}options ${cmdline}\n`,
    'syslinux/syslinux.cfg': `DEFAULT nodeos\nPROMPT 0\nTIMEOUT 0\nLABEL nodeos\n  LINUX /vmlinuz\n${initramfs ? `  INITRD /${initramfs}\n` : ''}  APPEND ${cmdline}\n`,
  };
}

/** The sfdisk script for the disk: ESP first, then the users partition, sizes in sectors. */
export function partitionScript(espSectors: number, usersSectors: number): string {
  const first = ESP_START / SECTOR;
  return [
    'label: gpt',
    `start=${first}, size=${espSectors}, type=${ESP_TYPE}, name="nodeos-boot", attrs="LegacyBIOSBootable"`,
    `start=${first + espSectors}, size=${usersSectors}, type=${LINUX_TYPE}, name="nodeos-users"`,
    '',
  ].join('\n');
}


function espImage(manifestPath: string, file: string): number {
  const manifest = readManifest(manifestPath);
  const dir = dirname(manifestPath);
  const payload = [manifest.kernel.path, manifest.initramfs?.path].filter((p): p is string => !!p);
  const bytes = payload.reduce((sum, p) => sum + statSync(join(dir, p)).size, 0);
  const size = Math.max(64 * MiB, roundUp(bytes * 1.1 + 8 * MiB, MiB));
  // The sectors before it on the disk, which syslinux's boot sector adds to find its files.
  const esp = fatImage(file, size, 'NODEOS-BOOT', { hiddenSectors: ESP_START / SECTOR });
  try {
    for (const folder of ['EFI', 'EFI/BOOT', 'loader', 'loader/entries', 'syslinux']) esp.mkdir(folder);
    exec('syslinux', 'syslinux', ['--install', '--directory', '/syslinux', file], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    esp.copy(SYSTEMD_BOOT, 'EFI/BOOT/BOOTX64.EFI');
    esp.copy(join(dir, manifest.kernel.path), 'vmlinuz');
    if (manifest.initramfs) esp.copy(join(dir, manifest.initramfs.path), manifest.initramfs.path);
    for (const [path, text] of Object.entries(loaderFiles(manifest.cmdline, manifest.initramfs?.path))) esp.write(path, text);
  } finally {
    esp.close();
  }
  return size;
}

/**
 * The protective MBR gets syslinux's GPT boot code (its first 440 bytes; the
 * disk signature and partition entry stay) and its one entry is marked
 * active: some BIOSes boot only a disk with an active partition, and UEFI
 * ignores the flag.
 */
function writeBiosBootCode(disk: string): void {
  if (!existsSync(GPT_MBR)) throw new Error(`pc image: no ${GPT_MBR} (apt-get install syslinux-common)`);
  const code = readFileSync(GPT_MBR);
  if (code.length > MBR_CODE_BYTES) throw new Error(`pc image: ${GPT_MBR} is ${code.length} bytes, more than an MBR holds`);
  const fd = openSync(disk, 'r+');
  try {
    writeSync(fd, code, 0, code.length, 0);
    writeSync(fd, Buffer.from([ACTIVE]), 0, 1, MBR_FIRST_ENTRY);
  } finally {
    closeSync(fd);
  }
}

/** Writes disk.img next to the manifest; returns its path. */
export async function buildPcImage(manifestPath: string, options: PcImageOptions): Promise<string> {
  const dir = dirname(manifestPath);
  const disk = join(dir, 'disk.img');
  const [esp, users] = [join(dir, 'esp.img.tmp'), join(dir, 'users.img.tmp')];
  const empty = mkdtempSync(join(tmpdir(), 'nodeos-users-'));
  try {
    const espBytes = espImage(manifestPath, esp);
    await usersImageWithDependencies(options.usersDir ?? empty, users, { size: options.usersSize, label: 'nodeos-users', owners: options.owners, passwords: options.passwords, arch: readManifest(manifestPath).arch, registry: options.registry });
    const usersBytes = statSync(users).size;
    // 1 MiB before the first partition, 1 MiB after the last for the backup GPT.
    assembleDisk(disk, MiB + espBytes + usersBytes + MiB, partitionScript(espBytes / SECTOR, usersBytes / SECTOR), [
      { image: esp, offset: ESP_START },
      { image: users, offset: ESP_START + espBytes },
    ]);
    writeBiosBootCode(disk);
  } finally {
    for (const file of [esp, users]) rmSync(file, { force: true });
    rmSync(empty, { recursive: true, force: true });
  }
  return disk;
}

