// What both boot benchmarks read: the kernel's own timestamps on console
// lines, so QEMU's start-up and the host's load stay out of the figures.
import { bootGuest, type BootOptions } from '../build/qemu';

/**
 * Boots once and returns the guest time (s) of each marker line, in order.
 * loglevel=7 makes the kernel print info records (ours included); printk.time=1 stamps them.
 */
export async function kernelTimestamps(manifestPath: string, markers: readonly string[], timeoutMs: number, options: BootOptions = {}): Promise<number[]> {
  const guest = bootGuest(manifestPath, { ...options, append: ['loglevel=7 printk.time=1 nodeos.rootwait=0', options.append].filter(Boolean).join(' ') });
  try {
    const times: number[] = [];
    for (const marker of markers) times.push(Number((await guest.expect(new RegExp(`\\[\\s*([\\d.]+)\\] ${marker}`), timeoutMs))[1]));
    return times;
  } finally {
    guest.child.kill('SIGKILL');
    await guest.exited;
  }
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const ms = (seconds: number) => Math.round(seconds * 1000);
