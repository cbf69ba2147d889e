// The pseudo filesystems every Linux userspace expects, as a table read like
// fstab, applied in order. A mount that fails is logged and skipped: a system
// without /dev/pts is still better than no system at all.
import { existsSync, mkdirSync } from 'node:fs';
import type { Log } from './log';
import { MOUNTINFO, readMountinfo } from './mountinfo';
import { MS, type Sys } from './sys';

export interface MountSpec {
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data?: string;
}

const { NOSUID, NODEV, NOEXEC, RELATIME } = MS;

/**
 * The cap on every tmpfs anyone can write (/tmp, /dev/shm, and each user's
 * own): without one, a tmpfs may take half the RAM, and filling it is a
 * memory exhaustion no cgroup limit of the writer's undoes (the pages stay
 * after the writer dies). /run is the system's and smaller.
 */
export const TMPFS_SIZE = 'size=25%';

export const PSEUDO_FILESYSTEMS: readonly MountSpec[] = [
  { source: 'proc', target: '/proc', fstype: 'proc', flags: NOSUID | NODEV | NOEXEC | RELATIME },
  { source: 'sysfs', target: '/sys', fstype: 'sysfs', flags: NOSUID | NODEV | NOEXEC | RELATIME },
  // favordynmods (Linux 6.0): PID 1 moves every process it launches into its cgroup, and a move otherwise waits
  // for an RCU grace period (14–30 ms each in the guest, 1–4 ms with it); forks and exits pay a little more.
  { source: 'cgroup2', target: '/sys/fs/cgroup', fstype: 'cgroup2', flags: NOSUID | NODEV | NOEXEC | RELATIME, data: 'nsdelegate,favordynmods' },
  { source: 'devtmpfs', target: '/dev', fstype: 'devtmpfs', flags: NOSUID | RELATIME, data: 'mode=0755' },
  { source: 'devpts', target: '/dev/pts', fstype: 'devpts', flags: NOSUID | NOEXEC | RELATIME, data: 'gid=5,mode=0620,ptmxmode=0666' },
  { source: 'tmpfs', target: '/dev/shm', fstype: 'tmpfs', flags: NOSUID | NODEV | RELATIME, data: `mode=1777,${TMPFS_SIZE}` },
  { source: 'tmpfs', target: '/run', fstype: 'tmpfs', flags: NOSUID | NODEV | RELATIME, data: 'mode=0755,size=10%' },
  { source: 'tmpfs', target: '/tmp', fstype: 'tmpfs', flags: NOSUID | NODEV | RELATIME, data: `mode=1777,${TMPFS_SIZE}` },
];

/**
 * A folder shown read-only somewhere else (the system in the new root, in a
 * user's view): a bind mount, then remounted read-only, nosuid and nodev (a
 * bind takes its flags only from a remount). `flags` adds to the bind (REC).
 */
export function bindReadOnly(sys: Sys, source: string, target: string, flags = 0): void {
  sys.mount(source, target, null, MS.BIND | flags, null);
  sys.mount(null, target, null, MS.BIND | MS.REMOUNT | MS.RDONLY | NOSUID | NODEV, null);
}

export type MountOutcome = 'mounted' | 'already mounted' | 'failed';

/** Where the table meets the machine; tests replace it to record the calls. */
export interface MountSeams {
  sys: Sys;
  isMounted(target: string): boolean;
  mkdir(target: string): void;
}

/**
 * mountinfo is read once /proc is there, not once per row: a table's targets
 * are distinct, so what it mounted since is never asked about again.
 */
export function realSeams(sys: Sys): MountSeams {
  let mounted: Set<string> | undefined;
  return {
    sys,
    isMounted: (target) => {
      if (!mounted && existsSync(MOUNTINFO)) mounted = new Set(readMountinfo().map((entry) => entry.target));
      return mounted?.has(target) ?? false;
    },
    mkdir: (target) => mkdirSync(target, { recursive: true, mode: 0o755 }),
  };
}

export function mountAll(table: readonly MountSpec[], seams: MountSeams, log: Log): MountOutcome[] {
  return table.map((spec) => mountOne(spec, seams, log));
}

function mountOne(spec: MountSpec, seams: MountSeams, log: Log): MountOutcome {
  if (seams.isMounted(spec.target)) {
    log.debug(`${spec.target}: already mounted`);
    return 'already mounted';
  }
  try {
    seams.mkdir(spec.target);
    seams.sys.mount(spec.source, spec.target, spec.fstype, spec.flags, spec.data ?? null);
    log.debug(`${spec.target}: mounted ${spec.fstype}`);
    return 'mounted';
  } catch (err) {
    log.warn(`${spec.target}: ${(err as Error).message}`);
    return 'failed';
  }
}
