// cgroup v2: PID 1 moves itself into init/ (a cgroup with processes cannot
// hand controllers down), and each user gets users/NAME with memory.max and
// pids.max, so one user's fork bomb or leak cannot starve PID 1 or the others.
// Below it, one leaf per thing the user runs: init/ for the init, and one per
// login session, so each can be emptied without touching the others, all
// under the user's limits. Each user's log writer runs beside them, in
// logs/NAME, with limits of its own (see logCgroup).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from './log';
import type { UserLimits } from './users';

export const CGROUP_ROOT = '/sys/fs/cgroup';
const CONTROLLERS = '+memory +pids';

/** Prepares the hierarchy; false (with a warning) when cgroup2 is not there. */
export function setupCgroups(log: Log, root = CGROUP_ROOT): boolean {
  if (!existsSync(join(root, 'cgroup.controllers'))) {
    log.warn(`no cgroup2 at ${root}: users run without memory and process limits`);
    return false;
  }
  try {
    mkdirSync(join(root, 'init'), { recursive: true });
    writeFileSync(join(root, 'init', 'cgroup.procs'), String(process.pid));
    writeFileSync(join(root, 'cgroup.subtree_control'), CONTROLLERS);
    for (const parent of ['users', 'logs']) {
      mkdirSync(join(root, parent), { recursive: true });
      writeFileSync(join(root, parent, 'cgroup.subtree_control'), CONTROLLERS);
    }
    return true;
  } catch (err) {
    log.warn(`cgroups: ${(err as Error).message}: users run without memory and process limits`);
    return false;
  }
}

/** The user's cgroup, created with its limits; returns its path. */
export function userCgroup(name: string, limits: UserLimits, root = CGROUP_ROOT): string {
  return limitedCgroup(join(root, 'users', name), limits);
}

function limitedCgroup(path: string, limits: Pick<UserLimits, 'memoryMax' | 'pidsMax'>): string {
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'memory.max'), limits.memoryMax);
  writeFileSync(join(path, 'pids.max'), limits.pidsMax);
  return path;
}

/**
 * A log writer's limits: two writers of a user at once (one draining an
 * ended run, one for the new run) fit, as a node takes about a dozen threads
 * and 40 MB.
 */
export const LOG_WRITER_LIMITS = { memoryMax: String(192 << 20), pidsMax: '48' };

/**
 * The cgroup of a user's log writers, logs/NAME: beside the user's, not under
 * it, so what the user runs (a fork bomb at pids.max, a leak at memory.max)
 * can neither starve nor OOM-kill the writer of the log that tells of it. The
 * writer runs as the user, so its limits are fixed and small.
 */
export function logCgroup(name: string, root = CGROUP_ROOT): string {
  return limitedCgroup(join(root, 'logs', name), LOG_WRITER_LIMITS);
}

/** Moves a process into a cgroup (all its threads: a move is not held to pids.max, only what it forks after). */
export function joinCgroup(path: string, pid: number): void {
  writeFileSync(join(path, 'cgroup.procs'), String(pid));
}

export function cgroupPids(path: string): number[] {
  try {
    return readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A leaf below a user's cgroup (init, a session): created when missing; returns its path. */
export function leafCgroup(user: string, leaf: string): string {
  const path = join(user, leaf);
  mkdirSync(path, { recursive: true });
  return path;
}

/** Signals every process of a cgroup; returns how many there were. */
export function signalCgroup(path: string, signal: NodeJS.Signals): number {
  const pids = cgroupPids(path);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }
  return pids.length;
}

/** Kills whatever a previous run left in a cgroup (cgroup.kill, Linux ≥ 5.14), so a restart starts clean. */
export function emptyCgroup(path: string, log: Log): void {
  const left = cgroupPids(path).length;
  if (left === 0) return;
  try {
    writeFileSync(join(path, 'cgroup.kill'), '1');
    log.info(`${path}: killed ${left} leftover process(es)`);
  } catch (err) {
    log.warn(`${path}: ${(err as Error).message}`);
  }
}
