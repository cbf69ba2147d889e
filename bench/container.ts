// Container benchmark: the OCI image's size per layer (compressed, as pulled)
// next to the node binary alone compressed the same way; under runc, start →
// PID 1's ready line next to `node -e` in the same container (the floor any
// Node PID 1 pays), and stop time from SIGTERM to the container's exit.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { nodeDist } from '../build/node-binary';
import { buildOciImage } from '../build/oci';
import { run, runcBundle, runcRun } from '../build/runc';
import { median } from './timestamps';

const TIMEOUT_MS = 60_000;

/** Milliseconds from `runc run` to the line, then (when asked) from SIGTERM to the exit. */
async function runOnce(bundle: string, line: string | RegExp, stop: boolean): Promise<{ startMs: number; stopMs?: number }> {
  const id = `nodeos-bench-${process.pid}-${Date.now()}`;
  const started = performance.now();
  const container = runcRun(bundle, id);
  try {
    await container.expect(line, TIMEOUT_MS);
    const startMs = Math.round(performance.now() - started);
    if (!stop) return { startMs };
    const stopping = performance.now();
    await run('runc', ['kill', id, 'TERM']);
    const exit = await container.exited;
    if (exit.code !== 0) throw new Error(`stop: exit ${JSON.stringify(exit)}`);
    return { startMs, stopMs: Math.round(performance.now() - stopping) };
  } finally {
    await run('runc', ['delete', '--force', id]).catch(() => {});
  }
}

export async function containerBenchmark(arch: string, out: string, runs: number) {
  const image = await buildOciImage(arch, out);
  const node = (await promisify(gzip)(readFileSync((await nodeDist(arch)).stripped), { level: 9 })).length;
  const work = mkdtempSync(join(tmpdir(), 'nodeos-bench-oci-'));
  try {
    const tag = image.ref.split(':')[1];
    const home = mkdtempSync(join(work, 'home-'));
    const nodeos = await runcBundle(image.archive, join(work, 'nodeos'), tag, { home });
    const floor = await runcBundle(image.archive, join(work, 'floor'), tag, { args: ['/bin/node', '-e', "console.log('node up')"] });
    const samples = { nodeos: [] as { startMs: number; stopMs?: number }[], node: [] as { startMs: number }[] };
    for (let i = 0; i < runs; i++) {
      samples.nodeos.push(await runOnce(nodeos, /ready in \d+ ms/, true));
      samples.node.push(await runOnce(floor, 'node up', false));
    }
    const startMs = median(samples.nodeos.map((s) => s.startMs));
    const nodeStartMs = median(samples.node.map((s) => s.startMs));
    return {
      image: {
        compressedBytes: image.layers.reduce((sum, l) => sum + l.bytes, 0),
        layers: image.layers.map((l) => ({ name: l.name, compressedBytes: l.bytes, uncompressedBytes: l.tarBytes })),
        nodeAloneCompressedBytes: node,
      },
      runc: {
        startToReadyMs: startMs,
        nodeStartMs,
        ratio: Number((startMs / nodeStartMs).toFixed(2)),
        stopAfterSigtermMs: median(samples.nodeos.map((s) => s.stopMs!)),
        samples,
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
