// The only importer of the native addon: typed shims for the syscalls Node
// lacks, and the constants they take. Errors carry code/errno/syscall/path like
// Node's own. Everything here is one syscall; policy lives in the callers.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface WaitResult {
  pid: number;
  code: number | null;
  signal: number | null;
}

export interface Sys {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data?: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chroot(path: string): void;
  /** reboot(2); refuses (EPERM) unless this process is PID 1. */
  reboot(cmd: number): void;
  /** kill(-1, signal); refuses (EPERM) unless this process is PID 1. */
  killAll(signal: number): void;
  sethostname(name: string): void;
  /**
   * finit_module(2) for each [path, params, flags] in turn, in one job on
   * libuv's thread pool (the kernel probes the drivers' devices while PID 1's
   * loop runs): each module's error (null when it loaded) and ms.
   */
  finitModules(modules: [path: string, params: string, flags: number][]): Promise<[NodeJS.ErrnoException | null, number][]>;
  /**
   * sysfs attributes (each a page at most), read in one job on libuv's thread
   * pool: each text, or null where the file is not there or unreadable.
   */
  readSysfs(paths: string[]): Promise<(string | null)[]>;
  unshare(flags: number): void;
  /** The kernel's uevents (NETLINK_KOBJECT_UEVENT) on Node's loop: each message, or null when some were lost; returns stop. */
  ueventListen(callback: (message: Buffer | null) => void): () => void;
  /** quotactl(Q_SETQUOTA): a block limit (KiB, 0 = none) for one uid or gid on the device's filesystem. */
  setQuota(device: string, type: number, id: number, blockLimitKiB: number): void;
  prctl(option: number, arg2: number): number;
  /** V8's flags, as node:v8's setFlagsFromString (which loads node:stream) sets them. */
  setV8Flags(flags: string): void;
  sync(): void;
  /** TIOCSCTTY on fd: the terminal becomes this session's (call after setsid). */
  setControllingTerminal(fd: number): void;
  /** A new pseudo-terminal, both ends close-on-exec. */
  openpty(): { master: number; slave: number; path: string };
  /** TIOCSWINSZ: the terminal's size in rows and columns. */
  setWindowSize(fd: number, rows: number, cols: number): void;
  dup2(oldfd: number, newfd: number): void;
  /** Whether fd is a terminal (node:tty's isatty loads node:net and node:stream). */
  isatty(fd: number): boolean;
  /** pipe2(O_CLOEXEC): its two ends, each handed to a child as stdio and then closed here. */
  pipe(): { read: number; write: number };
  /**
   * posix_spawn (glibc's is a vfork: no copy of PID 1's page tables, where
   * libuv forks): the child's fd i is fds[i] (-1: /dev/null, each other fd
   * at least fds.length), signals at their defaults, a new session when
   * setsid. Returns its pid; its exit is for waitpid (the Reaper).
   */
  spawn(file: string, argv: string[], env: string[], fds: number[], setsid: boolean): number;
  /** WDIOC_SETTIMEOUT on an open watchdog: returns the timeout (s) the driver chose. */
  watchdogSetTimeout(fd: number, seconds: number): number;
  /** WDIOC_GETTIMEOUT: the watchdog's current timeout (s). */
  watchdogGetTimeout(fd: number): number;
  /** null when options has WNOHANG and no child changed state. */
  waitpid(pid: number, options: number): WaitResult | null;
  /** clock_settime(CLOCK_REALTIME) to a time in ms since the epoch. */
  clockSettime(ms: number): void;
  /** A UDP socket on 0.0.0.0:port bound to one interface (SO_BINDTODEVICE), broadcasts allowed: its fd, for dgram's bind({ fd }). */
  udpBindDevice(ifname: string, port: number): number;
  /** rtnetlink RTM_NEWLINK: link up or down; mtu 0 leaves the MTU alone. */
  linkSet(ifname: string, up: boolean, mtu: number): void;
  /** rtnetlink RTM_NEWADDR / RTM_DELADDR (IPv4 or IPv6). */
  addressAdd(ifname: string, address: string, prefixLength: number): void;
  addressDelete(ifname: string, address: string, prefixLength: number): void;
  /** rtnetlink RTM_NEWROUTE / RTM_DELROUTE in the main table; no gateway means on-link. */
  routeAdd(ifname: string, destination: string, prefixLength: number, gateway: string | null): void;
  routeDelete(ifname: string, destination: string, prefixLength: number, gateway: string | null): void;
}

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  PRIVATE: 1 << 18,
  RELATIME: 1 << 21,
} as const;

export const MNT = { FORCE: 1, DETACH: 2 } as const;

export const RB = {
  RESTART: 0x01234567,
  HALT: 0xcdef0123,
  POWER_OFF: 0x4321fedc,
  CAD_ON: 0x89abcdef,
  CAD_OFF: 0,
} as const;

export const CLONE = {
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

/** finit_module(2) flags: the kernel decompresses a .ko.xz/.ko.zst/.ko.gz itself (CONFIG_MODULE_DECOMPRESS). */
export const MODULE_INIT = { COMPRESSED_FILE: 4 } as const;

export const PR = { SET_CHILD_SUBREAPER: 36, SET_NO_NEW_PRIVS: 38, GET_NO_NEW_PRIVS: 39 } as const;

export const WNOHANG = 1;

export const QUOTA = { USER: 0, GROUP: 1 } as const;

/** The addon's name beside the bundle (and /init, which loads it first: src/boot.ts). */
export const ADDON_FILE = 'nodeos.node';

// The bundle ships the addon beside itself; from sources it is node-gyp's output.
const ADDON_PATHS = [join(__dirname, ADDON_FILE), join(__dirname, '..', 'native', 'build', 'Release', 'nodeos.node')];

function loadAddon(): Sys {
  const path = ADDON_PATHS.find((p) => existsSync(p));
  if (!path) throw new Error(`sys: addon not found (looked in ${ADDON_PATHS.join(', ')}); run npm run build`);
  const module = { exports: {} as Sys };
  process.dlopen(module, path);
  return module.exports;
}

// Once a process: /init (src/boot.ts) and PID 1's bundle are two bundles,
// each with its own copy of this module, and /init loads the addon first.
const LOADED = Symbol.for('nodeos.addon');
const loaded = globalThis as { [LOADED]?: Sys };

/** The real syscalls, loaded on first use. */
export function sys(): Sys {
  return (loaded[LOADED] ??= loadAddon());
}

/** process.execve (Node ≥ 22.15, so present in the image's Node): replaces this process, keeping its pid. */
export function execve(file: string, args: string[], env: NodeJS.ProcessEnv): never {
  if (!process.execve) throw new Error(`execve: needs Node ≥ 22.15 (this is ${process.version})`);
  return process.execve(file, args, env);
}
