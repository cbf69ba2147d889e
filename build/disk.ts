// Disk images from files, without root or loop devices: a FAT filesystem
// filled through mtools, and a partitioned disk assembled from partition
// images with sfdisk and dd. The PC image (GPT) and the Raspberry Pi SD card
// (MBR) are both made this way.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from './exec';

export const MiB = 1024 * 1024;
export const SECTOR = 512;
export const roundUp = (bytes: number, unit: number) => Math.ceil(bytes / unit) * unit;

export interface FatImage {
  mkdir(path: string): void;
  /** Copies a local file to a path in the filesystem. */
  copy(local: string, path: string): void;
  /** Writes text to a path in the filesystem. */
  write(path: string, text: string): void;
  /** Removes the staging folder `write` uses. */
  close(): void;
}

/**
 * A FAT32 filesystem image of `bytes` (a multiple of 1 KiB). `hiddenSectors`
 * is the partition's first sector on its disk (boot code that reads the
 * filesystem adds it); `sectorsPerCluster` small enough gives FAT32 the
 * 65525 clusters it needs on a small partition; `volumeId` (8 hex digits)
 * instead of one from the clock.
 */
export function fatImage(file: string, bytes: number, label: string, { hiddenSectors = 0, sectorsPerCluster, volumeId }: { hiddenSectors?: number; sectorsPerCluster?: number; volumeId?: string } = {}): FatImage {
  rmSync(file, { force: true });
  const options = [...(sectorsPerCluster ? ['-s', String(sectorsPerCluster)] : []), ...(volumeId ? ['-i', volumeId] : [])];
  exec('mkfs.vfat', 'mkfs.vfat', ['-C', '-F', '32', '-h', String(hiddenSectors), ...options, '-n', label, file, String(bytes / 1024)]);
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  const staging = mkdtempSync(join(tmpdir(), 'nodeos-fat-'));
  let written = 0;
  const copy = (local: string, path: string) => exec('mcopy', 'mcopy', ['-i', file, local, `::/${path}`], { env });
  return {
    mkdir: (path) => exec('mmd', 'mmd', ['-i', file, `::/${path}`], { env }),
    copy,
    write: (path, text) => {
      const local = join(staging, String(written++));
      writeFileSync(local, text);
      copy(local, path);
    },
    close: () => rmSync(staging, { recursive: true, force: true }),
  };
}

/** A disk of `bytes`: partitioned by the sfdisk script, each partition image written at its offset. */
export function assembleDisk(disk: string, bytes: number, script: string, parts: readonly { image: string; offset: number }[]): void {
  rmSync(disk, { force: true });
  exec('truncate', 'truncate', ['-s', String(bytes), disk]);
  exec('sfdisk', 'sfdisk', ['--quiet', disk], { input: script });
  for (const { image, offset } of parts) {
    exec('dd', 'dd', [`if=${image}`, `of=${disk}`, 'bs=1M', `seek=${offset / MiB}`, 'conv=notrunc,sparse', 'status=none']);
  }
}
