// Kernel benchmark: the size of each artifact, and boot-to-ready of the
// custom kernel (initramfs embedded) against Debian's kernel + a separate
// initramfs. "Ready" is the kernel's timestamp on PID 1's "ready" line (time
// since the kernel started), read from the console with loglevel=7, on a
// machine without a users partition.
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readManifest } from '../build/manifest';
import { kernelTimestamps, median, ms } from './timestamps';

const TIMEOUT_MS = 180_000;

const readyAt = async (manifestPath: string) => (await kernelTimestamps(manifestPath, ['nodeos: boot: ready in'], TIMEOUT_MS))[0];

function sizes(manifestPath: string): Record<string, number> {
  const manifest = readManifest(manifestPath);
  const dir = dirname(manifestPath);
  const files: Record<string, string | undefined> = { vmlinuz: manifest.kernel.path, initramfs: manifest.initramfs?.path, 'disk.img': 'disk.img' };
  return Object.fromEntries(
    Object.entries(files)
      .filter(([, file]) => file && existsSync(join(dir, file)))
      .map(([name, file]) => [name, statSync(join(dir, file!)).size]),
  );
}

export async function kernelBenchmark(debian: string, custom: string, runs: number) {
  const samples: Record<'debian' | 'custom', number[]> = { debian: [], custom: [] };
  for (let i = 0; i < runs; i++) {
    samples.debian.push(await readyAt(debian));
    samples.custom.push(await readyAt(custom));
  }
  return {
    runs,
    kernelStartToReadyMs: { debian: ms(median(samples.debian)), custom: ms(median(samples.custom)), debianSamples: samples.debian.map(ms), customSamples: samples.custom.map(ms) },
    bytes: { debian: sizes(debian), custom: sizes(custom) },
    versions: { debian: readManifest(debian).kernel, custom: readManifest(custom).kernel },
  };
}
