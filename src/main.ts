// PID 1 of NodeOS: the boot script, read top to bottom. The kernel runs /init
// (this bundle, under /bin/node) with /dev/console as stdio; from here on,
// nothing may end this process: when PID 1 exits the kernel panics.
//
// A container's PID 1 (the image from build/oci.ts) skips what is the
// kernel's and the engine's and goes straight to the users of /home.
//
// In the initramfs PID 1 loads drivers, finds the users partition and
// switches to the real root (the same process goes on there), then starts
// the users' inits.
import { DEFAULTS, readConfig, type Config } from './config';
import { setHostname } from './hostname';
import { attachKmsg, keepEveryKmsgLine, logger, logToConsoles, logToFile, setLogLevel, useWinston } from './log';
import { openTerminals, stdioTerminal, type Terminal } from './consoles';
import { mountAll, PSEUDO_FILESYSTEMS, realSeams } from './mounts';
import { Reaper } from './reaper';
import { Consoles, consoleMode, VERSION } from './console-sessions';
import { readLogs } from './log-files';
import { authenticator, type Authenticator } from './login';
import { LoginGuard } from './login-guard';
import { writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { kernelEnding, realShutdownSeams, shutdown, type Ending, type PowerAction } from './shutdown';
import { CONTAINER_SIGNAL_ACTIONS, disableCtrlAltDel, handleSignals, SIGNAL_ACTIONS } from './signals';
import { containerEnding, detectContainer, maySysAdmin, writeTerminationLog } from './container';
import { sys as loadSys, type Sys } from './sys';
import { ModuleLoader } from './modules';
import { prepareRoot, switchRoot } from './switch-root';
import { findUsersPartition, loadBootDrivers, mountUsersPartition } from './users-partition';
import { PROGRAMS, startUsers, type UserServices, type UsersOptions } from './user-services';
import { DiskQuotas } from './quotas';
import type { BlockDevice } from './blockdev';
import { SshServer } from './ssh/server';
import { makeHostKeyApart } from './ssh/host-key';
import { SETTINGS_DIR } from './users';
import { Clock, monotonicMs, SAVED_CLOCK } from './clock';
import { Network } from './net/network';
import { realWatchdogSeams, Watchdog } from './watchdog';
import { compileCacheProblem } from './compile-cache';
import { loadedBuiltins } from './builtins';
import { Hotplug } from './hotplug';
import { applySysctls, OOM_IMMUNE, setOomScoreAdj, SYSCTLS, userNamespaceSysctls } from './kernel-settings';

const log = logger('boot');
/** The consoles PID 1 serves, once open; until then (and in the emergency) our stdio. */
let terminals: Terminal[] = [];

/** ms from node's start until PID 1's modules were loaded and its first line ran (ready's line says it). */
let loadedMs = 0;

function main(): void {
  loadedMs = monotonicMs();
  refuseUnlessPid1(); // mounting over /dev and kill(-1) are for PID 1 only
  const exit = process.exit.bind(process); // a container's PID 1 ends by exiting: kept before it is refused to everyone else
  surviveErrors(); // an exception in PID 1 must not become a kernel panic
  setInterval(() => {}, 1 << 30); // nor may an empty event loop end the process
  const where = detectContainer();
  if (where.container) {
    bootContainer(exit).catch((err) => failContainer(err, exit));
    return;
  }
  bootKernel(where.problem).catch((err) => {
    log.error(`boot failed: ${(err as Error)?.stack ?? err}`);
    emergencyRepl();
  });
}

/** PID 1 of a kernel (QEMU, a PC): the machine is ours, from the pseudo filesystems to reboot(2). */
async function bootKernel(problem: string | undefined): Promise<void> {
  const sys = loadSys();
  mountAll(PSEUDO_FILESYSTEMS, realSeams(sys), logger('mounts')); // /proc /sys /dev first: all else reads them
  attachKmsg(log); // needs /dev: from here our lines are in dmesg too
  const config = readConfig(); // needs /proc
  setLogLevel(config.logLevel);
  const modules = new ModuleLoader(sys, logger('modules'));
  // Drivers load on the thread pool from here (the kernel probes their devices meanwhile) while PID 1 sets up the rest.
  const drivers = config.single ? undefined : Promise.all([...config.modules.map((module) => modules.load(module)), loadBootDrivers(modules)]);
  if (config.ownsKernel) keepEveryKmsgLine(log); // else dmesg loses lines after the first ten
  terminals = openTerminals(config.ownsKernel, logger('console')); // needs /sys and /dev
  logToConsoles(() => terminals);
  for (const warning of [...(problem ? [problem] : []), ...config.warnings]) log.warn(warning);
  if (config.ownsKernel) applySysctls([...SYSCTLS, ...userNamespaceSysctls(config.userns)], logger('sysctl')); // else they are the host's
  noteCompileCache();
  setHostname(sys, config.hostname, logger('hostname'));
  disableCtrlAltDel(sys, logger('signals')); // so Ctrl-Alt-Del arrives as SIGINT
  if (config.single) log.info('single-user mode: emergency REPL only');
  const usersPartition = drivers && (await leaveInitramfs(sys, config, modules, drivers));
  terminals = openTerminals(config.ownsKernel, logger('console'), undefined, terminals); // consoles whose drivers were just loaded (hvc0)
  await startSystem(sys, config, {
    users: usersPartition && { isolation: true, quotas: usersPartition.quota ? new DiskQuotas(sys, usersPartition.path, logger('users')) : undefined },
    ownsMachine: true,
    modules,
    savedClock: Boolean(usersPartition),
    signals: SIGNAL_ACTIONS,
    ending: kernelEnding(sys),
  });
}

/**
 * PID 1 of a container (Docker, Podman, Kubernetes): the engine mounted /proc
 * and /dev, owns the network, the clock and the hostname; the users are in
 * /home (a volume); the logs are our stdout; the REPL only on a terminal (-it).
 */
async function bootContainer(exit: (code: number) => void): Promise<void> {
  const sys = loadSys();
  const config = readConfig(undefined, { container: true });
  setLogLevel(config.logLevel);
  terminals = sys.isatty(0) ? [stdioTerminal()] : []; // not process.stdin.isTTY: that makes the stream, and loads node:stream
  log.info(`container mode: ${terminals.length ? 'REPL on this terminal' : 'no terminal (docker run -it for the REPL)'}; users from /home`);
  for (const warning of config.warnings) log.warn(warning);
  noteCompileCache();
  if (config.hostname !== DEFAULTS.hostname) setHostname(sys, config.hostname, logger('hostname')); // else the engine's name stays
  const isolation = maySysAdmin();
  if (!isolation) log.warn('no CAP_SYS_ADMIN: users run as themselves without new privileges, in closed homes, but share the container\'s /tmp and /proc (--cap-add SYS_ADMIN gives each a private view)');
  await startSystem(sys, config, { users: { isolation }, ownsMachine: false, savedClock: false, signals: CONTAINER_SIGNAL_ACTIONS, ending: containerEnding(exit) });
}

/** What differs between a kernel's PID 1 and a container's once the system runs. */
interface SystemOptions {
  /** Start the users of /home (absent in the initramfs: no users partition). */
  users?: Pick<UsersOptions, 'isolation' | 'quotas'>;
  /** The network, the clock and new devices are ours (not an engine's) to manage. */
  ownsMachine: boolean;
  /** The kernel's modules, for devices plugged in later (where devices are ours). */
  modules?: ModuleLoader;
  /** The clock goes forward to the time saved on the users partition. */
  savedClock: boolean;
  signals: Readonly<Record<string, PowerAction>>;
  ending: Ending;
}

/** Reaping, users, network, consoles and power: everything after the machine is set up. */
async function startSystem(sys: Sys, config: Config, machine: SystemOptions): Promise<void> {
  const reaper = new Reaper(sys, logger('reaper'));
  reaper.start(); // before anything can spawn: orphans and the addon's children
  const oom = setOomScoreAdj(OOM_IMMUNE);
  // A container's engine keeps CAP_SYS_RESOURCE and sets the score itself: there it is only worth a note.
  if (oom) log[machine.ownsMachine ? 'warn' : 'info'](`oom_score_adj ${OOM_IMMUNE}: ${oom}: the OOM killer may choose PID 1`);
  let clock: Clock | undefined;
  let network: Network | undefined;
  let watchdog: Watchdog | undefined;
  if (machine.ownsMachine) {
    watchdog = new Watchdog(realWatchdogSeams(sys), logger('watchdog'), config.watchdog);
    watchdog.start(); // from here a hung PID 1 resets the machine
    clock = new Clock(sys, logger('clock'), { savedPath: machine.savedClock ? SAVED_CLOCK : undefined, setClock: config.ownsKernel });
    clock.start(); // forward to the last known time before anyone reads it
    network = new Network(sys, config, logger('net'), (servers) => clock!.setServers(servers));
    network.start(); // loopback and name files before users; leases come in the background
  }
  if (machine.users) logToFile(log); // the users partition is there: the log survives reboots
  const users = machine.users ? startUsers(config, logger('users'), { ...machine.users, reaper }) : undefined;
  const hotplug = machine.modules && new Hotplug(sys, machine.modules, logger('hotplug'), () => network?.linksChanged());
  const auth = authenticator(new LoginGuard(Date.now), logger('login'), (ms) => sleep(ms), config);
  let ssh: SshServer | undefined;
  // The watchdog is disarmed only at the very end: a shutdown that hangs is caught too.
  const ending: Ending = { ...machine.ending, finish: (action, log) => (watchdog?.stop(), machine.ending.finish(action, log)) };
  const power = powerControl(sys, config, reaper, ending, async () => {
    await ssh?.stop(); // no new sessions while the users stop
    await users?.stopAll(config.shutdownTimeoutMs);
    await network?.stop(); // leases released while the users are gone but the disk is still there
    clock?.stop();
    hotplug?.close();
    consoles.stop();
  });
  const consoles = new Consoles(terminals, consoleMode(config, terminals, users && auth, logger('console')), {
    log: logger('console'),
    power,
    globals: { users: () => users?.status() ?? [], ...(network && { net: () => network.status() }) },
    login: users && { auth, launchSpec: (account, leaf) => users.launchSpec(account, leaf, PROGRAMS.session) },
    dashboard: users && {
      users: () => users.status(),
      control: (name, action) => void users.control(name, action, config.shutdownTimeoutMs).catch((err) => log.warn(`${name}: ${(err as Error).message}`)),
      addresses: () => network?.status().interfaces.filter((i) => i.mode !== 'loopback').flatMap((i) => i.addresses.map((a) => `${i.name} ${a}`)) ?? [],
      logs: (name, lines) => readLogs(name, lines),
      cgroup: (name) => users.cgroup(name),
      home: '/home',
      version: VERSION,
    },
    bannerLines: async () => {
      const fingerprint = await ssh?.fingerprint(); // at the first boot, once the key is made
      return fingerprint ? [`SSH host key: ${fingerprint} (ED25519)`] : [];
    },
  });
  handleSignals(power, machine.signals);
  log.info(`ready in ${Math.round(monotonicMs())} ms (node and PID 1's modules: ${Math.round(loadedMs)} ms)`);
  log.debug(`built-in modules at ready: ${loadedBuiltins().join(' ')}`);
  reaper.trackNodeChildren(); // loads child_process (and stream, net): off the boot path, before anything can spawn through it
  if (users) ssh = startSsh(sys, config, users, auth); // after ready, before the banners show its key; ssh2 loads at the first connection
  consoles.start();
  useWinston(); // loaded now, off the boot path and after the prompt: until then lines go straight to their sinks
  // Its first look loads what the boot left (the network's drivers, probing on the thread pool), after the prompt.
  hotplug?.start();
}

/** The users partition, once the drivers (loading) bring it, and the switch to the real root: the partition, when it happened. */
async function leaveInitramfs(sys: Sys, config: Config, loader: ModuleLoader, drivers: Promise<unknown>): Promise<BlockDevice | undefined> {
  const device = await findUsersPartition(config, loader, logger('users'), drivers);
  if (!device) {
    log.warn('no users partition: this system is ephemeral, changes are lost at power-off');
    return undefined;
  }
  try {
    await prepareRoot(sys, (target) => mountUsersPartition(sys, loader, device, target, config, logger('users')));
  } catch (err) {
    log.error(`${(err as Error).message}: staying in the initramfs (ephemeral)`);
    return undefined;
  }
  switchRoot(sys, logger('switch-root'));
  return device;
}

/** The SSH server, when there is a users partition to keep its host key and hold the accounts. */
function startSsh(sys: Sys, config: Config, users: UserServices, auth: Authenticator): SshServer | undefined {
  if (config.ssh === 'off') return undefined;
  const ssh = new SshServer(
    { port: config.ssh, passwordAuth: config.sshPassword, keyDir: `/home/${SETTINGS_DIR}/ssh` },
    { log: logger('ssh'), sys, auth, launchSpec: users.launchSpec, programs: PROGRAMS, makeHostKey: (dir) => makeHostKeyApart(dir) },
  );
  ssh.start().catch((err) => logger('ssh').error(`not started: ${(err as Error).message}`));
  return ssh;
}

/** The compile cache spares every boot compiling PID 1 (src/boot.ts); without it boot is slower, not broken. */
function noteCompileCache(): void {
  const problem = compileCacheProblem();
  if (problem) log.info(`compile cache: ${problem}`);
}

/** A container that cannot boot ends, saying why (stderr, and Kubernetes' termination log): its engine decides what next. */
function failContainer(err: unknown, exit: (code: number) => void): void {
  const reason = `boot failed: ${(err as Error)?.message ?? err}`;
  log.error(`${reason}\n${(err as Error)?.stack ?? ''}`);
  writeTerminationLog(reason);
  exit(1);
}

/** Whatever broke, the console still answers: the REPL is how the machine gets fixed. */
function emergencyRepl(): void {
  log.error('starting the emergency REPL (no power control: power off from outside)');
  const power = (action: PowerAction) => log.error(`${action} unavailable: boot failed`);
  new Consoles(terminals.length ? terminals : [stdioTerminal()], 'repl', { log: logger('console'), power, globals: {} }).start();
}

function refuseUnlessPid1(): void {
  if (process.pid === 1) return;
  // Not console.error: stderr's stream would load node:stream, and the build's run (the compile cache) and a test see what the bundle alone loads.
  writeSync(2, `nodeos: this is PID 1 of NodeOS; it refuses to run as pid ${process.pid}\n`);
  process.exit(1);
}

function surviveErrors(): void {
  process.on('uncaughtException', (err) => log.error(`uncaught exception (survived): ${err?.stack ?? err}`));
  process.on('unhandledRejection', (reason) => log.error(`unhandled rejection (survived): ${(reason as Error)?.stack ?? reason}`));
  process.exit = ((code?: number) => {
    log.error(`process.exit(${code ?? ''}) refused: PID 1 cannot exit; use .poweroff, .reboot or .halt`);
  }) as typeof process.exit;
}

/** The one way to shut down, whoever asks (signal, REPL); later requests are ignored. */
function powerControl(sys: Sys, config: Config, reaper: Reaper, ending: Ending, stopServices: () => Promise<void>) {
  let requested: PowerAction | undefined;
  let ignored = 0;
  const seams = realShutdownSeams(
    sys,
    () => reaper.reap().left,
    async () => {
      await stopServices();
      for (const child of reaper.owned) child.kill('SIGTERM');
    },
    ending,
  );
  return (action: PowerAction) => {
    if (requested) {
      // A thousand signals are one shutdown and one line: the log is not theirs to flood.
      if (ignored++ === 0) log.warn(`${action} ignored: ${requested} already under way (later requests too, silently)`);
      return;
    }
    requested = action;
    void shutdown(action, config.shutdownTimeoutMs, seams, logger('shutdown'));
  };
}

main();
