// Leaving the initramfs. The kernel's initial ramfs cannot be pivoted away
// from, so, as busybox switch_root and u-root do, we build the new root in a
// tmpfs, move the mounts into it, MS_MOVE it onto / and chroot. The initramfs
// files are moved one by one (copy, then delete), so their memory is never
// held twice, and nothing is left behind in the ramfs. Then PID 1 executes
// itself again from the new root: that drops the last reference to the old
// node binary, and the new process starts clean (its pid stays 1).
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmdirSync, symlinkSync, unlinkSync, chmodSync, lchownSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from './log';
import { execve, MNT, MS, type Sys } from './sys';

export const NEW_ROOT = '/newroot';
/** Mounts carried over into the new root (/tmp included: its files survive the switch). */
export const MOVED_MOUNTS = ['/dev', '/proc', '/sys', '/run', '/tmp'];
export const STAGE_ENV = 'NODEOS_STAGE';

/** Moves a tree file by file; returns how many bytes moved. Mount points in `keep` stay. */
export function moveTree(from: string, to: string, keep: ReadonlySet<string>): number {
  let bytes = 0;
  for (const name of readdirSync(from)) {
    const source = join(from, name);
    const target = join(to, name);
    if (keep.has(source)) continue;
    const stat = lstatSync(source);
    if (stat.isDirectory()) {
      mkdirSync(target, { recursive: true });
      bytes += moveTree(source, target, keep);
      rmdirSync(source);
    } else {
      if (stat.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
      else {
        copyFileSync(source, target);
        bytes += stat.size;
      }
      unlinkSync(source);
    }
    if (!stat.isSymbolicLink()) chmodSync(target, stat.mode & 0o7777);
    lchownSync(target, stat.uid, stat.gid);
  }
  return bytes;
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
export function prepareRoot(sys: Sys, mountHome: (target: string) => void): void {
  step('new root', () => {
    mkdirSync(NEW_ROOT, { recursive: true });
    sys.mount('tmpfs', NEW_ROOT, 'tmpfs', MS.NODEV, 'mode=0755');
  });
  try {
    mkdirSync(join(NEW_ROOT, 'home'), { mode: 0o755 });
    step('mounting /home', () => mountHome(join(NEW_ROOT, 'home')));
  } catch (err) {
    sys.umount2(NEW_ROOT, MNT.DETACH);
    throw err;
  }
}

/** Moves the system into the prepared root, enters it and executes PID 1 again there. */
export function switchRoot(sys: Sys, log: Log): never {
  const bytes = step('moving the initramfs', () => moveTree('/', NEW_ROOT, new Set([NEW_ROOT, ...MOVED_MOUNTS])));
  log.info(`moved ${Math.round(bytes / 1048576)} MiB of system files into a tmpfs`);
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
  log.info('switched root; executing PID 1 again from it');
  return step('re-executing /init', () => execve('/bin/node', ['/bin/node', '/init'], { ...process.env, [STAGE_ENV]: 'system' }));
}
