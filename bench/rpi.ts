// Raspberry Pi benchmark, on the emulated Pi 3 B booting the SD card: PID 1's
// `Run /init` → ready next to the floor image on the same board, the card's
// partition sizes, and the same initramfs compressed with gzip -9 and with
// zstd -19 (the platform's choice, build/platforms.ts): the kernel unpacks it
// before `Run /init`, so the comparison is kernel start → `Run /init` (and →
// ready), with the sizes.
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readManifest } from '../build/manifest';
import { SD_IMAGE } from '../build/sd-image';
import { readyAgainstFloor } from './boot';
import { kernelTimestamps, median, ms } from './timestamps';

const TIMEOUT_MS = 300_000;

/** The card's partitions, from its MBR. */
function partitions(card: string) {
  const table = JSON.parse(execFileSync('sfdisk', ['-J', card], { encoding: 'utf8' })).partitiontable;
  const [boot, users] = table.partitions as { size: number }[];
  return { cardBytes: statSync(card).size, bootBytes: boot.size * table.sectorsize, usersBytes: users.size * table.sectorsize };
}

export async function rpiBenchmark(manifestPath: string, runs: number) {
  const manifest = readManifest(manifestPath);
  const dir = dirname(manifestPath);
  const card = join(dir, SD_IMAGE);
  const cpio = execFileSync('zstd', ['-dcq', join(dir, manifest.initramfs!.path)], { maxBuffer: 1 << 30 });
  const [gzip, zstd] = [join(dir, 'bench-initramfs.cpio.gz'), join(dir, 'bench-initramfs.cpio.zst')];
  writeFileSync(gzip, gzipSync(cpio, { level: 9 }));
  execFileSync('zstd', ['-19', '-T0', '-q', '-f', '-o', zstd], { input: cpio, maxBuffer: 1 << 30 });
  const compressions = { gzip, zstd };
  const samples: Record<string, { runInitMs: number; readyMs: number }[]> = { gzip: [], zstd: [] };
  for (let i = 0; i < runs; i++) {
    for (const [name, initramfs] of Object.entries(compressions)) {
      const [runInit, ready] = await kernelTimestamps(manifestPath, ['Run \\/init as init process', 'nodeos: boot: ready in'], TIMEOUT_MS, { sdCard: card, initramfs });
      samples[name].push({ runInitMs: ms(runInit), readyMs: ms(ready) });
    }
  }
  const summary = (name: string) => ({
    bytes: statSync(compressions[name as keyof typeof compressions]).size,
    kernelStartToRunInitMs: median(samples[name].map((s) => s.runInitMs)),
    kernelStartToReadyMs: median(samples[name].map((s) => s.readyMs)),
    samples: samples[name],
  });
  return {
    board: 'QEMU raspi3b (TCG)',
    card: partitions(card),
    initramfs: { gzip: summary('gzip'), zstd: summary('zstd') },
    runInitToReady: await readyAgainstFloor(manifestPath, runs, { sdCard: card }),
  };
}
