// The launcher: started by PID 1 as root for one user, it sets up what the
// user's init runs in and then becomes it (execve keeps the pid, so PID 1
// supervises the init itself). Steps, in order: join the user's cgroup; for
// users other than root, a private mount namespace whose root shows the system
// read-only, the own home read-write and nothing of the other homes, with a
// private /tmp, /proc and a minimal /dev (its tmpfs capped); no new privileges
// (setuid binaries stop working); PID 1's immunity to the OOM killer given
// up; the user's uid and gid with no supplementary groups; for an
// init, stderr joined to stdout, which PID 1 gave it: the pipe into the
// user's log writer (dist/log-writer.js), so until then the launcher's
// complaints reach PID 1. A login session is launched the same way, on its
// terminal instead. When the program is a node script (an init with
// #!/usr/bin/env node, the log writer, a session), the launcher runs it in
// its own node process once it is the user, rather than executing a second
// node for it (src/node-script.ts): the same pid, argv, environment and view,
// one Node start fewer per user.
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLONE, execve, MNT, MS, PR, sys as loadSys, type Sys } from './sys';
import { NET_DIR } from './net/resolver';
import { OOM_DEFAULT, setOomScoreAdj } from './kernel-settings';
import { bindReadOnly, TMPFS_SIZE } from './mounts';
import { joinCgroup } from './cgroups';
import { nodeScriptArgv, runNodeScript } from './node-script';

export interface LaunchSpec {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** The program to become, and its argv (default: just the program). */
  init: string;
  argv?: string[];
  /**
   * What stdio is: `log` (an init: stdout is the pipe to its log writer, and
   * stderr joins it at the execve), `terminal` (a login session, started in
   * a new session: it becomes the controlling terminal), or `pipes` (an SSH
   * command, SFTP, a health check, the log writer: kept as given).
   */
  stdio?: 'log' | 'terminal' | 'pipes';
  /** The user's cgroup folder, or empty when there are no cgroups. */
  cgroup: string;
  isolate: boolean;
  /** Made by PID 1 (never taken from the user): the launcher, still root, starts with it, so node reads it once for both. */
  env: Record<string, string>;
}

export const LAUNCH_ENV = 'NODEOS_LAUNCH';
const { NOSUID, NODEV, NOEXEC, BIND, REC, REMOUNT, RDONLY, PRIVATE } = MS;
/** Where the isolated root is assembled before pivot_root. */
const ROOTS = '/run/nodeos/roots';
const SYSTEM_SKIP = new Set(['proc', 'sys', 'dev', 'run', 'tmp', 'home', 'newroot']);
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

function step(name: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
}

/** The user's view of the machine, assembled in a tmpfs that then becomes its /. */
export function isolate(sys: Sys, spec: LaunchSpec): void {
  sys.unshare(CLONE.NEWNS);
  sys.mount(null, '/', null, REC | PRIVATE, null); // nothing we mount leaks back out
  const root = join(ROOTS, spec.name);
  mkdirSync(root, { recursive: true });
  sys.mount('tmpfs', root, 'tmpfs', NOSUID | NODEV, 'mode=0755');
  for (const name of readdirSync('/')) {
    if (SYSTEM_SKIP.has(name)) continue;
    const source = `/${name}`;
    const target = join(root, name);
    const stat = lstatSync(source);
    if (stat.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (stat.isDirectory()) {
      mkdirSync(target);
      bindReadOnly(sys, source, target, REC);
    }
  }
  const home = join(root, spec.home);
  mkdirSync(home, { recursive: true });
  sys.mount(spec.home, home, null, BIND, null);
  sys.mount(null, home, null, BIND | REMOUNT | NOSUID | NODEV, null);
  // The system's name files: /etc/resolv.conf and /etc/hosts lead here.
  if (existsSync(NET_DIR)) {
    mkdirSync(join(root, NET_DIR), { recursive: true });
    bindReadOnly(sys, NET_DIR, join(root, NET_DIR));
  }
  mkdirSync(join(root, 'tmp'));
  sys.mount('tmpfs', join(root, 'tmp'), 'tmpfs', NOSUID | NODEV, `mode=1777,${TMPFS_SIZE}`);
  mkdirSync(join(root, 'proc'));
  sys.mount('proc', join(root, 'proc'), 'proc', NOSUID | NODEV | NOEXEC, 'hidepid=invisible');
  minimalDev(sys, join(root, 'dev'));
  mkdirSync(join(root, '.old'));
  sys.mount(null, root, null, REMOUNT | RDONLY | NOSUID | NODEV, null);
  sys.pivotRoot(root, join(root, '.old'));
  process.chdir('/');
  sys.umount2('/.old', MNT.DETACH);
}

function minimalDev(sys: Sys, dev: string): void {
  mkdirSync(dev);
  sys.mount('tmpfs', dev, 'tmpfs', NOSUID | NOEXEC, 'mode=0755');
  for (const name of DEVICES) {
    writeFileSync(join(dev, name), '');
    sys.mount(`/dev/${name}`, join(dev, name), null, BIND, null);
  }
  mkdirSync(join(dev, 'pts'));
  sys.mount('devpts', join(dev, 'pts'), 'devpts', NOSUID | NOEXEC, 'newinstance,ptmxmode=0666,mode=0620');
  symlinkSync('pts/ptmx', join(dev, 'ptmx'));
  mkdirSync(join(dev, 'shm'));
  sys.mount('tmpfs', join(dev, 'shm'), 'tmpfs', NOSUID | NODEV, `mode=1777,${TMPFS_SIZE}`);
  sys.mount(null, dev, null, REMOUNT | RDONLY | NOSUID | NOEXEC, null);
}

/** Sets up the user's process and becomes its program: executes it, or returns the node script to run here. */
export function launch(spec: LaunchSpec): () => void {
  delete process.env[LAUNCH_ENV]; // the rest of the environment is the program's
  const sys = loadSys();
  if (spec.cgroup) step('joining the cgroup', () => joinCgroup(spec.cgroup, process.pid)); // PID 1 moved it already; this makes sure
  if (spec.stdio === 'terminal') step('taking the terminal', () => sys.setControllingTerminal(0));
  if (spec.isolate) step('isolating', () => isolate(sys, spec));
  step('no new privileges', () => sys.prctl(PR.SET_NO_NEW_PRIVS, 1));
  // PID 1's immunity is inherited; a user's must not be (the cgroup's OOM killer could not end it). After setuid /proc/self is no longer ours to write.
  step('leaving the OOM protection', () => {
    const problem = setOomScoreAdj(OOM_DEFAULT);
    if (problem) throw new Error(`oom_score_adj: ${problem}`);
  });
  step('becoming the user', () => {
    // These exist on POSIX, which is all NodeOS runs on.
    process.setgroups!([]);
    process.setgid!(spec.gid);
    process.setuid!(spec.uid);
  });
  if ((spec.stdio ?? 'log') === 'log') step('joining stderr to the log', () => sys.dup2(1, 2));
  process.chdir(spec.home);
  const argv = spec.argv ?? [spec.init];
  const script = nodeScriptArgv(spec.init, argv, spec.env.PATH); // looked at as the user: what the user may not execute is execve's to refuse
  if (script) return () => runNodeScript(script);
  return execve(spec.init, argv, spec.env);
}

// dist/launch.js is started with the spec in its environment. The program
// runs outside the try: its own exceptions are its own, as in a node of its own.
if (process.env[LAUNCH_ENV]) {
  let program: (() => void) | undefined;
  try {
    program = launch(JSON.parse(process.env[LAUNCH_ENV]) as LaunchSpec);
  } catch (err) {
    process.stderr.write(`launch: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
  program?.();
}
