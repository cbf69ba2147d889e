// Orderly shutdown, the erlinit way: ask every process to stop, give them a
// grace period, kill the rest, flush, unmount what holds data in reverse
// mount order, and only then ask the kernel to reboot, halt or power off. In
// a container the mounts are the engine's and the last step is PID 1's exit
// status.
import { setTimeout as sleep } from 'node:timers/promises';
import { constants } from 'node:os';
import type { Log } from './log';
import { isBlockBacked, readMountinfo, type MountEntry } from './mountinfo';
import { closeOwnFiles, listProcesses, mountHolders, type ProcessInfo } from './proc';
import { MNT, MS, RB, type Sys } from './sys';
import { monotonicMs } from './clock';

export type PowerAction = 'reboot' | 'halt' | 'poweroff';

export const REBOOT_COMMAND: Record<PowerAction, number> = {
  reboot: RB.RESTART,
  halt: RB.HALT,
  poweroff: RB.POWER_OFF,
};

/** How long killed processes get to disappear after SIGKILL. */
const KILL_WAIT_MS = 1000;
const POLL_MS = 20;

/** Where shutdown meets the machine; tests replace it to record the calls. */
export interface ShutdownSeams {
  sys: Sys;
  processes(): ProcessInfo[];
  mounts(): MountEntry[];
  /** Who keeps a mount busy ("name (pid): path"), to say so. */
  holders(target: string): string[];
  /** Closes PID 1's own files under a mount point; their paths. */
  closeOwnFiles(target: string): string[];
  /** Reaps orphans that died, so they stop counting as alive; how many children PID 1 still has (a look at its own, not all of /proc). */
  reap(): number;
  /** Stops what PID 1 itself runs (users' inits, the console REPL, its children) before the mass SIGTERM. */
  stopOwn(): void | Promise<void>;
  /** The filesystems are ours to unmount (not a container engine's). */
  ownsMounts: boolean;
  /** The last step: reboot(2), or in a container the exit. */
  finish(action: PowerAction, log: Log): void;
}

/** How shutdown ends: a kernel's PID 1 unmounts and asks the kernel; a container's (src/container.ts) exits. */
export type Ending = Pick<ShutdownSeams, 'ownsMounts' | 'finish'>;

export const kernelEnding = (sys: Sys): Ending => ({
  ownsMounts: true,
  finish(action, log) {
    log.info(`calling reboot(2) for ${action}`);
    try {
      sys.reboot(REBOOT_COMMAND[action]);
    } catch (err) {
      log.error(`reboot(2): ${(err as Error).message}`);
    }
  },
});

export const realShutdownSeams = (sys: Sys, reap: () => number, stopOwn: () => void | Promise<void>, ending: Ending): ShutdownSeams => ({
  sys,
  processes: listProcesses,
  mounts: readMountinfo,
  holders: mountHolders,
  closeOwnFiles,
  reap,
  stopOwn,
  ...ending,
});

/**
 * Filesystems whose contents live only in memory: nothing of theirs is to be
 * written back, and power-off ends them anyway. Unmounting each still costs
 * (cgroup2's alone took 1–140 ms at power-off under TCG). systemd's shutdown
 * leaves the API filesystems mounted for the same reason.
 */
const MEMORY_FILESYSTEMS = new Set(['proc', 'sysfs', 'cgroup', 'cgroup2', 'devtmpfs', 'devpts', 'tmpfs', 'ramfs', 'rootfs', 'mqueue', 'debugfs', 'tracefs', 'securityfs', 'pstore', 'bpf', 'configfs', 'hugetlbfs', 'binfmt_misc', 'fusectl', 'efivarfs']);

const holdsData = (entry: MountEntry) => !MEMORY_FILESYSTEMS.has(entry.fstype);
const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

/**
 * What to unmount, newest first, never / itself: every filesystem with data
 * behind it (a disk, the network, FUSE). A memory filesystem only when it
 * hides one mounted earlier at or under its mount point, which could not be
 * reached by its path otherwise.
 */
export function unmountOrder(mounts: readonly MountEntry[]): MountEntry[] {
  const newestFirst = mounts.filter((entry) => entry.target !== '/').reverse();
  return newestFirst.filter((entry, i) => holdsData(entry) || newestFirst.slice(i + 1).some((older) => holdsData(older) && within(older.target, entry.target)));
}

/** Processes that still hold on: not us, not kernel threads, not zombies awaiting a reap. */
export function survivors(processes: readonly ProcessInfo[], self = process.pid): ProcessInfo[] {
  return processes.filter((p) => p.pid !== self && !p.kernelThread && p.state !== 'Z');
}

export async function shutdown(action: PowerAction, graceMs: number, seams: ShutdownSeams, log: Log): Promise<void> {
  const step = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    const start = monotonicMs();
    const result = await fn();
    log.info(`${name} (${Math.round(monotonicMs() - start)} ms)`);
    return result;
  };
  log.info(`${action} requested`);
  await step('stopped users, console and own children', () => seams.stopOwn());
  await step('sent SIGTERM to all processes', () => seams.sys.killAll(constants.signals.SIGTERM));
  const allGone = await step('grace period', () => waitForExit(seams, graceMs, log));
  await step('SIGKILL to survivors', () => killSurvivors(seams, allGone, log));
  await step('synced filesystems', () => seams.sys.sync());
  if (seams.ownsMounts) {
    await step('unmounted filesystems', () => unmountAll(seams, log));
    await step('synced filesystems', () => seams.sys.sync());
  }
  seams.finish(action, log);
}

/**
 * Polls until nothing but us is alive, or the time is up; true when all are gone.
 * Every process descends from PID 1, and the orphans come to it: while it has
 * children, someone is still there, which its own list says without reading
 * every process's stat (with the bench's 100 sleepers, 57–94 ms a look under
 * TCG). Once it has none, one look at all of /proc confirms: a process entered
 * from outside (a container's exec, a kernel's usermode helper) is not its child.
 */
async function waitForExit(seams: ShutdownSeams, timeoutMs: number, log: Log): Promise<boolean> {
  const deadline = monotonicMs() + timeoutMs;
  for (;;) {
    const children = seams.reap();
    const late = monotonicMs() >= deadline;
    if (children === 0 || late) {
      const alive = survivors(seams.processes());
      if (alive.length === 0) return true;
      if (late) {
        log.info(`still running: ${alive.map((p) => `${p.name} (${p.pid})`).join(', ')}`);
        return false;
      }
    }
    await sleep(POLL_MS);
  }
}

/** After the grace period; `allGone` when it ended with nobody left (the list is not read again: 40 ms under TCG). */
async function killSurvivors(seams: ShutdownSeams, allGone: boolean, log: Log): Promise<void> {
  const alive = allGone ? 0 : survivors(seams.processes()).length;
  if (alive === 0) return log.info('no survivors');
  log.info(`sending SIGKILL to all (${alive} still running)`);
  seams.sys.killAll(constants.signals.SIGKILL);
  if (!(await waitForExit(seams, KILL_WAIT_MS, log))) log.warn('processes survived SIGKILL (stuck in the kernel?)');
}

/**
 * Unmounts what unmountOrder names. What stays busy is remounted read-only
 * when a block device is behind it (so its data is on disk), else detached.
 */
function unmountAll(seams: ShutdownSeams, log: Log): void {
  const mounts = seams.mounts();
  for (const entry of unmountOrder(mounts)) {
    try {
      seams.sys.umount2(entry.target, 0);
      log.debug(`unmounted ${entry.target}`);
    } catch (err) {
      if (isBlockBacked(entry) && closeOwnAndUnmount(seams, entry, log)) continue;
      const holders = seams.holders(entry.target);
      const why = `${entry.target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}${holders.length ? ` (held by ${holders.join(', ')})` : ''}`;
      fallback(seams.sys, entry, why, log);
    }
  }
  const root = mounts.find((entry) => entry.target === '/');
  if (root && isBlockBacked(root)) remountReadOnly(seams.sys, root, root.target, log);
}

/**
 * A disk that PID 1's own open files keep busy (a file opened in the REPL):
 * they are closed, since only reboot(2) comes next, and the unmount tried
 * again. Consoles and the kernel log are not on disks, so they stay open.
 */
function closeOwnAndUnmount(seams: ShutdownSeams, entry: MountEntry, log: Log): boolean {
  const closed = seams.closeOwnFiles(entry.target);
  if (closed.length === 0) return false;
  log.info(`${entry.target}: closed PID 1's own ${closed.join(', ')}`);
  try {
    seams.sys.umount2(entry.target, 0);
    log.info(`${entry.target}: unmounted`);
    return true;
  } catch {
    return false;
  }
}

/** A mount that would not go: a disk's is made read-only (its data is on it), anything else detached. `why` names the holders. */
function fallback(sys: Sys, entry: MountEntry, why: string, log: Log): void {
  if (isBlockBacked(entry)) return remountReadOnly(sys, entry, why, log);
  try {
    sys.umount2(entry.target, MNT.DETACH);
    log.debug(`${why}: detached`);
  } catch (err) {
    log.warn(`${why}: could not detach: ${(err as Error).message}`);
  }
}

function remountReadOnly(sys: Sys, entry: MountEntry, why: string, log: Log): void {
  try {
    sys.mount(null, entry.target, null, MS.REMOUNT | MS.RDONLY, null);
    log.info(`${why}: remounted read-only`);
  } catch (err) {
    log.warn(`${why}: could not remount read-only: ${(err as Error).message}`);
  }
}
