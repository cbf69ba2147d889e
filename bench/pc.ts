// PC benchmark: what the PC platform costs against the QEMU one (the generic
// kernel, the PC drivers and firmware in the initramfs, the disk image), and
// how long the PC image takes to come up under UEFI firmware from a USB stick
// against the same image on virtio. Two figures per boot: wall time from
// QEMU's start to PID 1's ready line (firmware and boot loader reading the
// disk included), and the guest's own time from kernel start to ready (from
// the kernel log, so the host's load stays out).
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readManifest } from '../build/manifest';
import { kernelPlatform } from '../build/platforms';
import { bootGuest, type DiskBus } from '../build/qemu';
import { median } from './timestamps';

const TIMEOUT_MS = 300_000;
const BUSES: readonly DiskBus[] = ['virtio', 'usb'];

/** In the guest: the kernel's timestamp (µs) of the first record matching each pattern. */
const KMSG_TIMES = (patterns: string[]) => `(() => {
  const fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const buf = Buffer.alloc(16384);
  const records = [];
  for (;;) { try { records.push(buf.toString('utf8', 0, fs.readSync(fd, buf))); } catch { break; } }
  fs.closeSync(fd);
  return ${JSON.stringify(patterns)}.map((p) => Number(records.find((r) => r.includes(p))?.split(';')[0].split(',')[2]));
})()`;

/** The kernel, the initramfs, and the disk image where the platform writes one. */
function sizes(manifestPath: string): Record<string, number> {
  const manifest = readManifest(manifestPath);
  const disk = kernelPlatform(manifest.platform).write ? 'disk.img' : undefined;
  const files = [manifest.kernel.path, manifest.initramfs?.path, disk].filter((f): f is string => !!f && existsSync(join(dirname(manifestPath), f)));
  return Object.fromEntries(files.map((f) => [f, statSync(join(dirname(manifestPath), f)).size]));
}

async function bootOnce(manifestPath: string, bus: DiskBus): Promise<{ wallMs: number; kernelToReadyMs: number }> {
  const started = Date.now();
  const guest = bootGuest(manifestPath, { pcDisk: join(dirname(manifestPath), 'disk.img'), firmware: 'uefi', bus });
  try {
    await guest.expect('nodeos: boot: ready in', TIMEOUT_MS);
    const wallMs = Date.now() - started;
    await guest.expect('nodeos> ', TIMEOUT_MS);
    const [ready] = await guest.value<number[]>(KMSG_TIMES(['nodeos: boot: ready in']), TIMEOUT_MS);
    return { wallMs, kernelToReadyMs: Math.round(ready / 1000) };
  } finally {
    guest.child.kill('SIGKILL');
    await guest.exited;
  }
}

export async function pcBenchmark(qemuManifest: string, pcManifest: string, runs: number) {
  const samples = Object.fromEntries(BUSES.map((bus) => [bus, [] as { wallMs: number; kernelToReadyMs: number }[]]));
  for (let i = 0; i < runs; i++) for (const bus of BUSES) samples[bus].push(await bootOnce(pcManifest, bus));
  const summary = (list: { wallMs: number; kernelToReadyMs: number }[]) => ({
    wallToReadyMs: median(list.map((s) => s.wallMs)),
    kernelStartToReadyMs: median(list.map((s) => s.kernelToReadyMs)),
    samples: list,
  });
  const pc = readManifest(pcManifest);
  return {
    runs,
    kernels: { qemu: readManifest(qemuManifest).kernel.package, pc: pc.kernel.package },
    bytes: { qemu: sizes(qemuManifest), pc: sizes(pcManifest) },
    modules: { qemu: readManifest(qemuManifest).modules.included.length, pc: pc.modules.included.length },
    firmwareFiles: pc.firmware.included.length,
    uefiBoot: Object.fromEntries(BUSES.map((bus) => [bus, summary(samples[bus])])),
  };
}
