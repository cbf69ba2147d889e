// Checking the users partition before it is mounted, as a PC's initramfs
// does: Debian's static e2fsck in preen mode (-p) replays the journal after a
// power cut and fixes what is safe to fix without asking. What it cannot fix
// leaves the partition unmounted, and the console says what to run.
import { childProcess } from './builtins';
import { existsSync } from 'node:fs';
import type { Log } from './log';

/** Where the image carries e2fsck (build/e2fsck.ts puts Debian's e2fsck.static there). */
export const E2FSCK = '/sbin/e2fsck';
/** The filesystems e2fsck checks. */
const EXT = new Set(['ext2', 'ext3', 'ext4']);

export type FsckVerdict = 'clean' | 'repaired' | 'unchecked' | 'damaged';

/** e2fsck's exit status (a bit mask, fsck(8)) → what it means for mounting. */
export function fsckVerdict(status: number | null): FsckVerdict {
  if (status === 0) return 'clean';
  if (status === null || status >= 8) return 'unchecked'; // an operational error, a signal: it could not look
  if (status & 4) return 'damaged';
  return 'repaired'; // 1: errors corrected; 2: corrected, "reboot" (only for a mounted root, which this is not)
}

/**
 * Checks the device with `e2fsck -p` before it is mounted; false when it
 * must not be mounted (errors preen cannot fix). A missing e2fsck, another
 * filesystem or an e2fsck that could not run lets the mount go ahead.
 */
export function checkFilesystem(device: string, fstype: string, log: Log, e2fsck = E2FSCK): boolean {
  if (!EXT.has(fstype)) return true;
  if (!existsSync(e2fsck)) {
    log.warn(`${device}: not checked: no ${e2fsck} in this image`);
    return true;
  }
  const run = childProcess().spawnSync(e2fsck, ['-p', device], { encoding: 'utf8', timeout: 30 * 60_000 });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n').filter(Boolean);
  const verdict = fsckVerdict(run.error ? null : run.status);
  const said = output.length ? `: ${output.join(' | ')}` : '';
  if (verdict === 'clean') log.info(`${device}: checked, clean${said}`);
  else if (verdict === 'repaired') log.warn(`${device}: e2fsck repaired it${said}`);
  else if (verdict === 'unchecked') log.warn(`${device}: e2fsck could not check it (${run.error?.message ?? `exit ${run.status ?? run.signal}`})${said}; mounting it anyway`);
  else log.error(`${device}: errors e2fsck -p cannot fix${said}. Left unmounted: in the REPL run fsck('${device}') (e2fsck -f -y: it may delete damaged files), then .reboot`);
  return verdict !== 'damaged';
}

/** The REPL's fsck(device): a full check that answers yes to every repair; what it printed, and its verdict. */
export function repairFilesystem(device: string, e2fsck = E2FSCK): string {
  const run = childProcess().spawnSync(e2fsck, ['-f', '-y', device], { encoding: 'utf8' });
  return `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? run.error.message : ''}\ne2fsck exit ${run.status ?? run.signal}: ${fsckVerdict(run.error ? null : run.status)}`;
}
