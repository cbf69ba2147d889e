// Checking the users partition before it is mounted, as a PC's initramfs
// does: Debian's static e2fsck in preen mode (-p) replays the journal after a
// power cut and fixes what is safe to fix without asking. What it cannot fix
// leaves the partition unmounted, and the console says what to run.
import { childProcess } from './builtins';
import { closeSync, existsSync, readFile } from 'node:fs';
import type { Log } from './log';
import { sys as loadSys } from './sys';

/** Where the image carries e2fsck (build/e2fsck.ts puts Debian's e2fsck.static there). */
export const E2FSCK = '/sbin/e2fsck';
/** The filesystems e2fsck checks. */
const EXT = new Set(['ext2', 'ext3', 'ext4']);
/** A preen that takes longer is killed and the partition mounted unchecked: a boot must end. */
const PREEN_TIMEOUT_MS = 30 * 60_000;

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
export async function checkFilesystem(device: string, fstype: string, log: Log, e2fsck = E2FSCK, timeoutMs = PREEN_TIMEOUT_MS): Promise<boolean> {
  if (!EXT.has(fstype)) return true;
  if (!existsSync(e2fsck)) {
    log.warn(`${device}: not checked: no ${e2fsck} in this image`);
    return true;
  }
  const run = await preen(e2fsck, device, timeoutMs);
  const verdict = fsckVerdict(run.status);
  const said = run.output.length ? `: ${run.output.join(' | ')}` : '';
  if (verdict === 'clean') log.info(`${device}: checked, clean${said}`);
  else if (verdict === 'repaired') log.warn(`${device}: e2fsck repaired it${said}`);
  else if (verdict === 'unchecked') log.warn(`${device}: e2fsck could not check it (${run.why})${said}; mounting it anyway`);
  else log.error(`${device}: errors e2fsck -p cannot fix${said}. Left unmounted: in the REPL run fsck('${device}') (e2fsck -f -y: it may delete damaged files), then .reboot`);
  return verdict !== 'damaged';
}

/**
 * `e2fsck -p device`, its stdout and stderr on one pipe: its exit status
 * (null when it could not run or was killed, with why) and its lines. The
 * boot's own run, before the reaper: the addon's spawn (child_process would
 * fork PID 1 and bring node:net and node:stream onto the path to ready), the
 * pipe read on the thread pool to its end, then PID 1 waits for its child.
 */
async function preen(e2fsck: string, device: string, timeoutMs: number): Promise<{ status: number | null; why: string; output: string[] }> {
  const sys = loadSys();
  const pipe = sys.pipe();
  let pid: number;
  try {
    pid = sys.spawn(e2fsck, [e2fsck, '-p', device], [], [-1, pipe.write, pipe.write], false);
  } catch (err) {
    closeSync(pipe.read);
    return { status: null, why: (err as Error).message, output: [] };
  } finally {
    closeSync(pipe.write);
  }
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    process.kill(pid, 'SIGKILL');
  }, timeoutMs);
  const text = await new Promise<string>((resolve) =>
    readFile(pipe.read, 'utf8', (err, data) => {
      if (err) process.kill(pid, 'SIGKILL'); // the wait below must not block PID 1 for as long as e2fsck would run
      resolve(err ? `${err.message}\n` : data);
    }),
  );
  closeSync(pipe.read);
  const exit = sys.waitpid(pid, 0)!; // its output ended: it has exited, or is about to
  clearTimeout(timer);
  const why = killed ? `no verdict in ${timeoutMs / 1000} s: killed` : exit.signal === null ? `exit ${exit.code}` : `signal ${exit.signal}`;
  return { status: exit.code, why, output: text.trim().split('\n').filter(Boolean) };
}

/** The REPL's fsck(device): a full check that answers yes to every repair; what it printed, and its verdict. */
export function repairFilesystem(device: string, e2fsck = E2FSCK): string {
  const run = childProcess().spawnSync(e2fsck, ['-f', '-y', device], { encoding: 'utf8' });
  return `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? run.error.message : ''}\ne2fsck exit ${run.status ?? run.signal}: ${fsckVerdict(run.error ? null : run.status)}`;
}
