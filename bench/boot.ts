// Boot benchmark: guest time from the kernel's "Run /init" to "nodeos: ready",
// against a floor image (same kernel, same node, an /init that only logs a
// marker), and the initramfs size against the compressed node binary alone.
// Timestamps are the kernel's own ([seconds] on each console line), so QEMU's
// start-up and the host's load do not enter the figures.
import { join, dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { nodeInputs, writeInitramfs } from '../build/image';
import { readManifest } from '../build/manifest';
import { initramfsEntries } from '../initramfs/layout';
import { kernelTimestamps, median, ms } from './timestamps';
import type { BootOptions } from '../build/qemu';

const FLOOR_INIT = `#!/bin/node
require('fs').writeFileSync('/dev/kmsg', 'floor: ready\\n');
setInterval(() => {}, 1 << 30);
`;

const TARGETS = { ratio: 1.05, overheadBytes: 2 << 20 };
const TIMEOUT_MS = 120_000;

/** Seconds (guest clock) from "Run /init" to the marker line, on one boot. */
async function measure(manifestPath: string, marker: string, boot: BootOptions): Promise<number> {
  const [start, end] = await kernelTimestamps(manifestPath, ['Run \\/init as init process', marker], TIMEOUT_MS, boot);
  return end - start;
}

/** The floor image: our initramfs's node and libraries, an /init that only logs a marker. */
export async function floorInitramfs(manifestPath: string): Promise<string> {
  const node = await nodeInputs(readManifest(manifestPath).arch);
  const floorPath = join(dirname(manifestPath), 'floor.cpio.gz');
  await writeInitramfs(initramfsEntries({ node: node.node, libs: node.libs, init: Buffer.from(FLOOR_INIT) }), floorPath);
  return floorPath;
}

/** `boot` says how to boot it (the emulated Pi boots its SD card). */
export async function bootBenchmark(manifestPath: string, runs: number, boot: BootOptions = {}) {
  const manifest = readManifest(manifestPath);
  if (!manifest.initramfs) throw new Error('bench: the floor comparison needs an image with a separate initramfs (--kernel debian)');
  const initramfs = manifest.initramfs;
  const node = await nodeInputs(manifest.arch);
  const floorPath = await floorInitramfs(manifestPath);
  const nodeos: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < runs; i++) {
    nodeos.push(await measure(manifestPath, 'nodeos: boot: ready in', boot));
    floor.push(await measure(manifestPath, 'floor: ready', { ...boot, initramfs: floorPath }));
  }
  const nodeGzBytes = gzipSync(node.node, { level: 9 }).length;
  const ratio = median(nodeos) / median(floor);
  const overheadBytes = initramfs.bytes - nodeGzBytes;
  return {
    runs,
    kernel: manifest.kernel.version,
    node: manifest.node.version,
    runInitToReadyMs: { nodeos: ms(median(nodeos)), floor: ms(median(floor)), nodeosSamples: nodeos.map(ms), floorSamples: floor.map(ms) },
    ratio: Number(ratio.toFixed(3)),
    initramfsBytes: initramfs.bytes,
    nodeGzBytes,
    overheadBytes,
    targets: TARGETS,
    met: { ratio: ratio <= TARGETS.ratio, overhead: overheadBytes <= TARGETS.overheadBytes },
  };
}
