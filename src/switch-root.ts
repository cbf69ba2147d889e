// Leaving the initramfs. The kernel's initial ramfs cannot be pivoted away
// from, so, as busybox switch_root and u-root do, we build the new root in a
// tmpfs, move the mounts into it, MS_MOVE it onto / and chroot. The system's
// folders are not copied into it (125 MiB, most of a second per 40 MiB on a
// slow machine): each is bind-mounted there, read-only, from the ramfs,
// which stays in memory underneath as it would as a copy. PID 1 then goes on
// in the new root: its files there are the very ones it runs from, so unlike
// busybox (which executes another program) there is nothing to execute
// again, and a second Node start would only cost time.
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, chmodSync, lchownSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from './log';
import { MNT, MS, type Sys } from './sys';
import { bindReadOnly } from './mounts';

export const NEW_ROOT = '/newroot';
/** Mounts carried over into the new root (/tmp included: its files survive the switch). */
export const MOVED_MOUNTS = ['/dev', '/proc', '/sys', '/run', '/tmp'];

/**
 * The initramfs's top level into the new root: folders bind-mounted
 * read-only (never copied), symlinks and files recreated. Mount points in
 * `keep` (and the users partition's /home) stay out. Returns the folders bound.
 */
export function bindSystem(sys: Sys, from: string, to: string, keep: ReadonlySet<string>): string[] {
  const bound: string[] = [];
  for (const name of readdirSync(from)) {
    const source = join(from, name);
    const target = join(to, name);
    if (keep.has(source)) continue;
    const stat = lstatSync(source);
    if (stat.isDirectory()) {
      mkdirSync(target, { mode: stat.mode & 0o7777 });
      bindReadOnly(sys, source, target);
      bound.push(name);
      continue;
    }
    if (stat.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else copyFileSync(source, target);
    if (!stat.isSymbolicLink()) chmodSync(target, stat.mode & 0o7777);
    lchownSync(target, stat.uid, stat.gid);
  }
  return bound;
}

/** One step of the switch; a failure names it. */
function step<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new Error(`switch root: ${name}: ${(err as Error).message}`);
  }
}

/**
 * The new root, with the users partition mounted at its /home by `mountHome`.
 * Nothing is moved yet: if this fails, it is undone and the initramfs is as it was.
 */
export async function prepareRoot(sys: Sys, mountHome: (target: string) => Promise<void>): Promise<void> {
  step('new root', () => {
    mkdirSync(NEW_ROOT, { recursive: true });
    sys.mount('tmpfs', NEW_ROOT, 'tmpfs', MS.NODEV, 'mode=0755');
  });
  try {
    mkdirSync(join(NEW_ROOT, 'home'), { mode: 0o755 });
    await mountHome(join(NEW_ROOT, 'home')).catch((err) => {
      throw new Error(`mounting /home: ${(err as Error).message}`);
    });
  } catch (err) {
    sys.umount2(NEW_ROOT, MNT.DETACH);
    throw err;
  }
}

/** Binds the system into the prepared root and enters it. */
export function switchRoot(sys: Sys, log: Log): void {
  const bound = step('binding the system', () => bindSystem(sys, '/', NEW_ROOT, new Set([NEW_ROOT, '/home', ...MOVED_MOUNTS])));
  log.info(`system folders bound read-only into the new root: ${bound.join(' ')}`);
  for (const dir of MOVED_MOUNTS) mkdirSync(join(NEW_ROOT, dir), { recursive: true, mode: 0o755 });
  // The system files are read-only from here on; what must be writable is a mount of its own.
  step('read-only system', () => sys.mount(null, NEW_ROOT, null, MS.REMOUNT | MS.RDONLY | MS.NODEV, null));
  for (const mount of MOVED_MOUNTS) step(`moving ${mount}`, () => sys.mount(mount, join(NEW_ROOT, mount), null, MS.MOVE, null));
  step('entering the new root', () => {
    process.chdir(NEW_ROOT);
    sys.mount('.', '/', null, MS.MOVE, null);
    sys.chroot('.');
    process.chdir('/');
  });
  log.info('switched root: the users partition is /home');
}
