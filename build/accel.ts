// Which QEMU accelerator to use. /dev/kvm can exist and still not work (nested
// virtualisation without the CPU features QEMU asks for: it aborts or hangs),
// so KVM is chosen only after a probe boot of the kernel reaches its panic for
// want of a root filesystem. The answer is cached per host boot.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE } from './paths';

export type Accel = 'kvm' | 'tcg';

const PROBE_TIMEOUT_MS = 15_000;

export const accelArgs = (accel: Accel) => (accel === 'kvm' ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']);

export function chooseAccel(qemu: string, kernel: string): Accel {
  const forced = process.env.NODEOS_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'tcg';
  }
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const cache = join(CACHE, 'accel.json');
  try {
    const saved = JSON.parse(readFileSync(cache, 'utf8')) as { bootId: string; accel: Accel };
    if (saved.bootId === bootId) return saved.accel;
  } catch {
    // No answer for this boot yet.
  }
  const probe = spawnSync(qemu, ['-nographic', '-m', '256', ...accelArgs('kvm'), '-kernel', kernel, '-append', 'console=ttyS0 panic=-1', '-no-reboot'], {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const accel: Accel = /Kernel panic/.test(probe.stdout ?? '') ? 'kvm' : 'tcg';
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(cache, JSON.stringify({ bootId, accel }));
  return accel;
}
