// Starting every user's init under supervision: root first, each in its own
// cgroup with its limits, through the launcher (dist/launch.js) that isolates
// it and becomes it. Stopping them: root last, the others at once.
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { chmodSync, closeSync, existsSync, statfsSync, statSync } from 'node:fs';
import { setPriority, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { childProcess, net } from './builtins';
import { emptyCgroup, joinCgroup, leafCgroup, logCgroup, setupCgroups, signalCgroup, userCgroup } from './cgroups';
import type { Config } from './config';
import { LAUNCH_ENV, type LaunchSpec } from './launch';
import { sys as loadSys } from './sys';
import type { Log } from './log';
import { POLICY, Service, type Run, type Status } from './supervisor';
import { discoverUsers, readUserConfig, SETTINGS_DIR, toBytes, userLimits, type Account } from './users';
import { LOG_MAX_ENV } from './log-writer';
import { ONE_ARENA } from './one-arena';
import { HealthMonitor, httpProbe, parseHealthCheck, type HealthStatus, type Probe } from './health';
import { proxyEnvironment } from './net/proxy';
import { signalName, type Reaper } from './reaper';
import type { DiskQuotas } from './quotas';
import { monotonicMs } from './clock';

export const LAUNCHER = join(__dirname, 'launch.js');
/** A log writer's nice: an init's output waits in its pipe (64 KiB) rather than the inits wait for their writers' CPU, at boot or under load. */
const LOG_WRITER_NICE = 5;
/** Folders that are not users are named in the log up to this many, then counted. */
const MAX_SKIPPED_LINES = 20;

export interface UserServices {
  status(): (Status & { uid: number; health?: HealthStatus })[];
  /** Stops the users, last started first; each gets graceMs after SIGTERM. */
  stopAll(graceMs: number): Promise<void>;
  /** Restart, stop or start one user's init (the dashboard's keys); stopping gives it graceMs after SIGTERM. */
  control(name: string, action: 'restart' | 'stop' | 'start', graceMs: number): Promise<void>;
  /** A user's cgroup folder ('' without cgroups). */
  cgroup(name: string): string;
  /** How to launch something else as a user (a login session): its own cgroup leaf under the user's limits, the user's environment. */
  launchSpec(account: Account, leaf: string, program: Program): LaunchSpec;
}

/** What else runs as a user, beside PID 1: the login session's REPL, the SFTP server, the init's log writer. */
export interface Program {
  init: string;
  argv: string[];
}
const script = (name: string): Program => ({ init: process.execPath, argv: [process.execPath, join(__dirname, name)] });
export const PROGRAMS = { session: script('session.js'), sftp: script('sftp-server.js'), logWriter: script('log-writer.js') };

/**
 * A user's environment: who they are, and npm set up for a read-only system:
 * its cache in ~/.npm (from HOME), global installs under ~/.npm-global.
 * `system` adds what every user gets (proxies, CAs).
 */
export function userEnvironment(user: Account, system: Record<string, string> = {}): Record<string, string> {
  return {
    ...system,
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    PATH: `${user.home}/bin:${user.home}/node_modules/.bin:${user.home}/.npm-global/bin:/usr/bin:/bin`,
    NPM_CONFIG_PREFIX: `${user.home}/.npm-global`,
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
  };
}

/** The size of the filesystem holding the homes (what N% of a disk quota is of). */
function partitionBytes(homes: string): number {
  const { blocks, bsize } = statfsSync(homes);
  return blocks * bsize;
}

/** Homes are 0700: whatever isolation a user has, the others' files stay closed. */
function closeHome(user: Account, log: Log): void {
  const mode = statSync(user.home).mode & 0o777;
  if (mode === 0o700) return;
  try {
    chmodSync(user.home, 0o700);
    log.info(`${user.name}: home was ${mode.toString(8)}, now 700`);
  } catch (err) {
    log.warn(`${user.name}: home is ${mode.toString(8)} and stays so: ${(err as Error).message}`); // a read-only partition
  }
}

/** The launcher's command line for a spec (what runs after the launcher's name, so `ps` shows it: the launcher may become it without an execve), its environment, and whether it gets a session of its own. */
function launcherCommand(spec: LaunchSpec): { argv: string[]; env: Record<string, string>; setsid: boolean } {
  const argv = spec.argv ?? [spec.init];
  const shown = argv[0] === process.execPath ? argv.slice(1) : argv;
  return { argv: [process.execPath, LAUNCHER, ...shown], env: { ...spec.env, [LAUNCH_ENV]: JSON.stringify(spec) }, setsid: (spec.stdio ?? 'log') !== 'log' };
}

/**
 * Into its cgroup now, before its node has started its threads: moved later
 * (by the launcher itself), they would come along past pids.max; and the node
 * start is the user's to pay for. The launcher joins again, to be sure.
 */
function joinEarly(spec: LaunchSpec, pid: number | undefined): void {
  try {
    if (spec.cgroup && pid) joinCgroup(spec.cgroup, pid);
  } catch {
    // Gone already, or no such cgroup: the launcher's own join says why.
  }
}

/**
 * Starts the launcher for a spec, as a ChildProcess (a login session, an SSH
 * program, a health check). A login session or an SSH program gets a session
 * of its own (setsid), so its terminal and its signals are its own.
 */
export function spawnLaunched(spec: LaunchSpec, stdio: StdioOptions): ChildProcess {
  const { argv, env, setsid } = launcherCommand(spec);
  const child = childProcess().spawn(argv[0], argv.slice(1), { env, stdio, detached: setsid });
  joinEarly(spec, child.pid);
  return child;
}

/**
 * Starts the launcher for an init or a log writer with the addon's spawn: PID
 * 1 is not forked, as libuv would fork it, at each launch of the boot's
 * busiest moment. stdin and stdout are the given fds (-1: /dev/null); stderr
 * is a pipe whose lines PID 1 logs as complaints until the launcher joins it
 * to the log. Its pid; its exit is the reaper's to report.
 */
function spawnService(spec: LaunchSpec, stdin: number, stdout: number, name: string, log: Log): number {
  const sys = loadSys();
  const { argv, env, setsid } = launcherCommand(spec);
  const stderr = sys.pipe();
  let pid: number;
  try {
    pid = sys.spawn(argv[0], argv, Object.entries(env).map(([key, value]) => `${key}=${value}`), [stdin, stdout, stderr.write], setsid);
  } catch (err) {
    closeSync(stderr.read);
    throw err;
  } finally {
    closeSync(stderr.write);
  }
  joinEarly(spec, pid);
  // A turn of the loop later: the boot's launches all go before node:net loads (after ready); what comes meanwhile waits in the pipe.
  setImmediate(() => complaints(new (net().Socket)({ fd: stderr.read, readable: true, writable: false }), name, log));
  return pid;
}

/** Lines a child writes on a pipe to PID 1, as warnings under a name. */
function complaints(stream: NodeJS.ReadableStream, name: string, log: Log): void {
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    for (const line of text.split('\n')) if (line) log.warn(`${name}: ${line}`);
  });
}

/**
 * An init and its log writer, both launched as the user: the init's stdout
 * (and, from its execve, its stderr) is a pipe into the writer's stdin, so its
 * output reaches ~/.nodeos/log/init.log without passing through PID 1. The
 * init goes first and its writer a turn of the loop later: at boot every
 * user's init is on its way before any writer takes a CPU from them, and what
 * an init says meanwhile waits in the pipe (64 KiB). A launch that fails is
 * an exit with 127, as a shell gives a command it cannot run.
 */
function launchRun(spec: LaunchSpec, writerSpec: LaunchSpec, log: Log, reaper: Pick<Reaper, 'watch'>): Run {
  const pipe = loadSys().pipe();
  let pid: number;
  try {
    pid = spawnService(spec, -1, pipe.write, spec.name, log);
  } catch (err) {
    log.error(`${spec.name}: ${(err as Error).message}`);
    closeSync(pipe.read);
    return { pid: undefined, onExit: (listener) => setImmediate(() => listener(127, null)) };
  } finally {
    closeSync(pipe.write); // the init holds the only write end now: its exit is the writer's end of input
  }
  setImmediate(() => {
    try {
      startWriter(writerSpec, pipe.read, `${spec.name} (log)`, log);
    } catch (err) {
      log.error(`${spec.name} (log): ${(err as Error).message}`);
    } finally {
      closeSync(pipe.read);
    }
  });
  return { pid, onExit: (listener) => reaper.watch(pid, (result) => listener(result.code, signalName(result.signal))) };
}

/** A log writer reading an init's output from input (a pipe's read end). */
function startWriter(spec: LaunchSpec, input: number, name: string, log: Log): void {
  const pid = spawnService(spec, input, -1, name, log);
  try {
    setPriority(pid, LOG_WRITER_NICE);
  } catch {
    // Gone already: its complaints say why.
  }
}

/** A command run as the user (through the launcher, in its own cgroup leaf): exit 0 within the timeout is healthy. */
function commandProbe(spec: LaunchSpec): Probe {
  return (timeoutMs) =>
    new Promise((resolve) => {
      const child = spawnLaunched({ ...spec, stdio: 'pipes' }, ['ignore', 'ignore', 'ignore']);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (err) => resolve({ ok: false, why: err.message }));
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(code === 0 ? { ok: true } : { ok: false, why: signal ? `no answer in ${timeoutMs} ms` : `exit ${code}` });
      });
    });
}

/** The program of a health command: as given when it has a slash (relative to the home), else found on the user's PATH. */
function healthProgram(user: Account, env: Record<string, string>, command: string[]): Program {
  const [name, ...args] = command;
  const path = name.includes('/') ? join(user.home, name) : (env.PATH ?? '').split(':').map((dir) => join(dir, name)).find((p) => existsSync(p)) ?? name;
  return { init: path, argv: [path, ...args] };
}

/** The user's health check from ~/.nodeos/config.json, when there is one, watching its service. */
function healthMonitor(user: Account, service: Service, spec: (leaf: string, program: Program) => LaunchSpec, log: Log): HealthMonitor | undefined {
  const { check, problems } = parseHealthCheck(readUserConfig(user.home).own.health, '.nodeos/config.json health');
  for (const problem of problems) log.warn(`${user.name}: ${problem}: no health check`);
  if (!check) return undefined;
  let probe: Probe;
  if (check.url) probe = httpProbe(check.url);
  else {
    const prepared = spec('health', { init: '', argv: [] });
    probe = commandProbe({ ...prepared, ...healthProgram(user, prepared.env, check.command!) });
  }
  return new HealthMonitor(user.name, check, probe, {
    running: () => service.state === 'running',
    end: (why) => service.end(why),
    every: (ms, fn) => {
      const timer = setInterval(fn, ms);
      return () => clearInterval(timer);
    },
    now: monotonicMs, // the clock may be set meanwhile
  }, log);
}

export interface UsersOptions {
  homes?: string;
  /** Each user in a view of their own (needs CAP_SYS_ADMIN). */
  isolation?: boolean;
  /** Per-user disk quotas on this filesystem (the users partition has ext4's quota feature). */
  quotas?: DiskQuotas;
  /** Collects the inits' exits. */
  reaper: Pick<Reaper, 'watch'>;
}

export function startUsers(config: Config, log: Log, { homes = '/home', isolation = true, quotas, reaper }: UsersOptions): UserServices {
  const { users, skipped } = discoverUsers(config, homes);
  for (const reason of skipped.slice(0, MAX_SKIPPED_LINES)) log.warn(`not started: ${reason}`);
  if (skipped.length > MAX_SKIPPED_LINES) log.warn(`not started: ${skipped.length - MAX_SKIPPED_LINES} more folders (a log line each would flood the console)`);
  if (users.length === 0) log.warn(`no user with an init in ${homes}`);
  const cgroups = setupCgroups(log);
  const logMaxBytes = toBytes(config.userLogMax, totalmem());
  const system = proxyEnvironment(config, join(homes, SETTINGS_DIR), log);
  const total = { memory: totalmem(), disk: partitionBytes(homes) };
  /** The user's home closed, disk quota set and cgroup made with the user's limits ('' without cgroups). */
  const prepare = (account: Account): string => {
    closeHome(account, log);
    const { limits, problems } = userLimits(account.home, { memoryMax: config.userMemoryMax, pidsMax: config.userPidsMax, diskMax: config.userDiskMax }, total);
    for (const problem of problems) log.warn(`${account.name}: ${problem}`);
    quotas?.apply(account, limits.diskMax);
    return cgroups ? userCgroup(account.name, limits) : '';
  };
  /** How to run something as the user, in a cgroup. */
  const runAs = (account: Account, cgroup: string) => ({ ...account, cgroup, isolate: isolation && account.uid !== 0, env: userEnvironment(account, system) });
  /** A prepared user's leaf (init, a session). */
  const inLeaf = (account: Account, leaf: string) => {
    const cgroup = prepare(account);
    return runAs(account, cgroup && leafCgroup(cgroup, leaf));
  };
  let stopping = false;
  const services = users.map((user) => {
    const spec: LaunchSpec = { ...inLeaf(user, 'init'), init: user.init };
    const writer = runAs(user, cgroups ? logCgroup(user.name) : '');
    const writerSpec: LaunchSpec = { ...writer, ...PROGRAMS.logWriter, stdio: 'pipes', env: { ...writer.env, [LOG_MAX_ENV]: String(logMaxBytes), ...ONE_ARENA } };
    const { cgroup } = spec;
    let current: Run | undefined;
    let health: HealthMonitor | undefined;
    const service = new Service(
      user.name,
      {
        launch: () => {
          if (cgroup) emptyCgroup(cgroup, log); // what the last run left behind goes first
          health?.restarted();
          return (current = launchRun(spec, writerSpec, log, reaper));
        },
        signal: (signal) => {
          if (cgroup) signalCgroup(cgroup, signal);
          else if (current?.pid) process.kill(current.pid, signal);
        },
        now: Date.now,
        after: (ms, fn) => {
          const timer = setTimeout(fn, ms);
          return () => clearTimeout(timer);
        },
      },
      log,
      { ...POLICY, firstDelayMs: config.restartDelayMs[0], maxDelayMs: config.restartDelayMs[1] },
    );
    service.start();
    health = healthMonitor(user, service, (leaf, program) => ({ ...inLeaf(user, leaf), ...program }), log);
    health?.start();
    return { user, service, health, cgroup: cgroup ? dirname(cgroup) : '' };
  });
  return {
    launchSpec: (account, leaf, program) => ({ ...inLeaf(account, leaf), ...program }),
    async control(name, action, graceMs) {
      const found = services.find((s) => s.user.name === name);
      if (!found) throw new Error(`no user ${name}`);
      if (stopping) throw new Error(`${action} refused: the system is shutting down`);
      if (action === 'start' && found.service.state !== 'stopped' && found.service.state !== 'finished' && found.service.state !== 'failed') return;
      log.info(`${name}: ${action} requested`);
      if (action !== 'start') await found.service.stop(graceMs);
      if (action !== 'stop') found.service.start();
    },
    cgroup: (name) => services.find((s) => s.user.name === name)?.cgroup ?? '',
    status: () => services.map(({ user, service, health }) => ({ ...service.status(), uid: user.uid, ...(health && { health: health.current() }) })),
    async stopAll(graceMs) {
      stopping = true; // from here nothing starts again: not a restart from backoff, a health check or the dashboard
      for (const { health, service } of services) {
        health?.stop();
        service.hold(); // while the last users stop, the first must not restart
      }
      // Root's init sees every home and was started first: it stops last. Nothing orders the others, and one after
      // the other each waited for the last one's exit (150–190 ms apiece in the guest).
      const isRoot = (s: (typeof services)[number]) => s.user.uid === 0;
      await Promise.all(services.filter((s) => !isRoot(s)).map(({ service }) => service.stop(graceMs)));
      await Promise.all(services.filter(isRoot).map(({ service }) => service.stop(graceMs)));
    },
  };
}
