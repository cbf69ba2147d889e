// The kernel command line → one typed, frozen config. Our keys are namespaced
// `nodeos.*`; the kernel's own words are not ours and are ignored. Unknown or
// malformed `nodeos.*` values are reported as warnings, never fatal: a typo on
// the command line must not keep a machine from booting.
import { readFileSync } from 'node:fs';
import { isIP, isIPv4 } from './builtins';
import { toBytes } from './users';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Config {
  /** nodeos.hostname= — the UTS hostname. */
  readonly hostname: string;
  /** `single` or nodeos.single — emergency REPL, start nothing else. */
  readonly single: boolean;
  /** nodeos.shutdown_timeout= (ms) — grace between SIGTERM and SIGKILL at shutdown. */
  readonly shutdownTimeoutMs: number;
  /** nodeos.loglevel= — error, warn, info (default) or debug. */
  readonly logLevel: LogLevel;
  /** nodeos.users= — the users partition: /dev/…, LABEL=, UUID=, PARTUUID= or PARTLABEL=. */
  readonly users: string;
  /** nodeos.usersfstype= — its filesystem type; empty means detected. */
  readonly usersFsType: string;
  /** nodeos.rootwait= (s) — how long to wait for the users partition to appear. */
  readonly rootwaitS: number;
  /** nodeos.modules=a,b — kernel modules to load besides those devices ask for. */
  readonly modules: readonly string[];
  /** nodeos.user_memory_max= — each user's memory.max (bytes, K/M/G suffix, N% of RAM, or max). */
  readonly userMemoryMax: string;
  /** nodeos.user_disk_max= — each user's disk quota on the users partition (bytes, K/M/G suffix, N% of the partition, or max; default 50%). */
  readonly userDiskMax: string;
  /** nodeos.user_pids_max= — each user's pids.max (a number or max). */
  readonly userPidsMax: string;
  /** nodeos.uid_min= — the lowest uid a user's folder may have (default 1000); below are system uids, refused. */
  readonly uidMin: number;
  /** nodeos.user_gids=any — a user's folder may have another group than its uid (default own: the same; never 0). */
  readonly anyGid: boolean;
  /** nodeos.restart_delay=FIRST,MAX (ms) — a failed init's first restart delay, doubling up to MAX (default 1000,60000). */
  readonly restartDelayMs: readonly [number, number];
  /** nodeos.userns=1 — users may create user namespaces (default 0: only root may; src/kernel-settings.ts). */
  readonly userns: boolean;
  /** nodeos.user_log_max= — each user's init.log is rotated past this (K/M suffix); init.log.1 keeps one more. */
  readonly userLogMax: string;
  /**
   * nodeos.console= — what each console offers: login (a login: prompt), repl
   * (the root REPL), dashboard (the dashboard; root's REPL after a login), or
   * auto (default): the dashboard on an appliance, login when there is a
   * users partition and someone on it has a password, else the REPL.
   */
  readonly console: 'auto' | 'login' | 'repl' | 'dashboard';
  /** nodeos.watchdog= — the hardware watchdog's timeout in seconds (default 60), or off. */
  readonly watchdog: number | 'off';
  /** nodeos.ssh= — the SSH server's port (default 22), or off. */
  readonly ssh: number | 'off';
  /** nodeos.ssh_password= — 1: SSH also takes passwords (default 0: keys only). */
  readonly sshPassword: boolean;
  /** nodeos.net= — dhcp: every Ethernet interface asks DHCP (default); off: loopback only. */
  readonly net: 'dhcp' | 'off';
  /** nodeos.net.IF= — one interface: dhcp, off, or ADDRESS/PREFIX[,gw=IP][,dns=IP]…[,mtu=N]. */
  readonly interfaces: Readonly<Record<string, InterfaceConfig>>;
  /** nodeos.dns=IP,… — DNS servers for the whole system, replacing those from DHCP. */
  readonly dns: readonly string[];
  /** nodeos.ntp=HOST[:PORT],… — SNTP servers, replacing those from DHCP; off: never set the clock. */
  readonly ntp: readonly string[] | 'off';
  /** nodeos.proxy=URL — HTTP_PROXY and HTTPS_PROXY for every user. */
  readonly proxy: string;
  /** nodeos.no_proxy=LIST — NO_PROXY for every user. */
  readonly noProxy: string;
  /**
   * The kernel is ours: the command line came from /proc/cmdline, not from
   * NODEOS_CMDLINE (PID 1 in a container or a namespace test, where the clock
   * and the kernel's settings belong to the host and are left alone).
   */
  readonly ownsKernel: boolean;
  /** What was wrong with the command line, to be logged once logging is up. */
  readonly warnings: readonly string[];
}

export type InterfaceConfig =
  | { mode: 'dhcp' }
  | { mode: 'off' }
  | { mode: 'static'; address: string; prefixLength: number; gateway?: string; dns: string[]; mtu?: number };

export const DEFAULTS: Omit<Config, 'warnings' | 'ownsKernel'> = {
  hostname: 'nodeos',
  single: false,
  shutdownTimeoutMs: 5000,
  logLevel: 'info',
  users: 'LABEL=nodeos-users',
  usersFsType: '',
  rootwaitS: 10,
  modules: [],
  userMemoryMax: '75%',
  userDiskMax: '50%',
  userPidsMax: '1024',
  userLogMax: '1M',
  uidMin: 1000,
  anyGid: false,
  userns: false,
  restartDelayMs: [1000, 60_000],
  console: 'auto',
  watchdog: 60,
  ssh: 22,
  sshPassword: false,
  net: 'dhcp',
  interfaces: {},
  dns: [],
  ntp: [],
  proxy: '',
  noProxy: '',
};

/** Splits a command line the way the kernel does: spaces separate, double quotes group. */
export function splitCmdline(cmdline: string): string[] {
  const words: string[] = [];
  for (const match of cmdline.matchAll(/(?:[^\s"]+|"[^"]*"?)+/g)) words.push(match[0].replace(/"/g, ''));
  return words;
}

type Settings = { -readonly [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K] };

/** A parameter: which setting it fills, and how its value is read (or why it cannot be). */
interface Param<F extends keyof Settings> {
  field: F;
  parse(value: string | undefined, settings: Settings): Settings[F] | Problem;
  /** What a bad value leaves in place, for the warning (default: the field). */
  current?(settings: Settings): unknown;
}
class Problem {
  constructor(readonly message: string) {}
}

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const show = (value: string | undefined) => (value === undefined ? 'nothing' : JSON.stringify(value));

const SPEC = /^(\/dev\/\S+|(LABEL|UUID|PARTUUID|PARTLABEL)=.+)$/;
const MODULE = /^[\w-]+$/;

const IFNAME = /^[\w.-]{1,15}$/;
const HOST_PORT = /^[a-zA-Z0-9.-]+(:\d{1,5})?$/;
const list = (v: string | undefined) => (v ?? '').split(',').filter(Boolean);

/** ADDRESS/PREFIX[,gw=IP][,dns=IP]…[,mtu=N], or dhcp, or off. */
export function parseInterface(value: string | undefined): InterfaceConfig | Problem {
  if (value === 'dhcp' || value === 'off') return { mode: value };
  const [cidr, ...fields] = (value ?? '').split(',');
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!match || !isIPv4(match[1]) || Number(match[2]) > 32) return new Problem(`expected dhcp, off or ADDRESS/PREFIX[,gw=IP][,dns=IP][,mtu=N], got ${show(value)}`);
  const config: InterfaceConfig = { mode: 'static', address: match[1], prefixLength: Number(match[2]), dns: [] };
  for (const field of fields) {
    const [name, v = ''] = field.split('=', 2);
    if (name === 'gw' && isIPv4(v)) config.gateway = v;
    else if (name === 'dns' && isIP(v)) config.dns.push(v);
    else if (name === 'mtu' && /^\d+$/.test(v) && Number(v) >= 576 && Number(v) <= 65535) config.mtu = Number(v);
    else return new Problem(`${JSON.stringify(field)}: expected gw=IPv4, dns=IP or mtu=576-65535`);
  }
  return config;
}

/** A size: bytes with a K/M/G suffix, N% (of the RAM or the partition), or max. */
const parseSize = (v: string | undefined) => (v !== undefined && /^(max|\d+[KMG]?|\d{1,2}%|100%)$/.test(v) ? v : new Problem(`expected bytes (K/M/G), N% or max, got ${show(v)}`));

const PARAMS: { [key: string]: Param<keyof Settings> } = {
  console: {
    field: 'console',
    parse: (v) => (v === 'auto' || v === 'login' || v === 'repl' || v === 'dashboard' ? v : new Problem(`expected login, repl, dashboard or auto, got ${show(v)}`)),
  },
  watchdog: {
    field: 'watchdog',
    parse: (v) => (v === 'off' ? 'off' : v !== undefined && /^\d{1,4}$/.test(v) && Number(v) >= 5 && Number(v) <= 3600 ? Number(v) : new Problem(`expected seconds (5-3600) or off, got ${show(v)}`)),
  },
  ssh: {
    field: 'ssh',
    parse: (v) => (v === 'off' ? 'off' : v !== undefined && /^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? Number(v) : new Problem(`expected a port (1-65535) or off, got ${show(v)}`)),
  },
  ssh_password: {
    field: 'sshPassword',
    parse: (v) => (v === '1' ? true : v === '0' ? false : new Problem(`expected 0 or 1, got ${show(v)}`)),
  },
  net: {
    field: 'net',
    parse: (v) => (v === 'dhcp' || v === 'off' ? v : new Problem(`expected dhcp or off, got ${show(v)}`)),
  },
  dns: {
    field: 'dns',
    parse: (v) => (list(v).length && list(v).every((ip) => isIP(ip)) ? list(v) : new Problem(`expected IP addresses separated by commas, got ${show(v)}`)),
  },
  ntp: {
    field: 'ntp',
    parse: (v) => (v === 'off' ? 'off' : list(v).length && list(v).every((h) => HOST_PORT.test(h)) ? list(v) : new Problem(`expected off or HOST[:PORT] separated by commas, got ${show(v)}`)),
  },
  proxy: {
    field: 'proxy',
    parse: (v) => (v !== undefined && /^https?:\/\/[^\s"]+$/.test(v) ? v : new Problem(`expected an http:// or https:// URL, got ${show(v)}`)),
  },
  no_proxy: {
    field: 'noProxy',
    parse: (v) => (v !== undefined && /^[\w.*:,/-]+$/.test(v) ? v : new Problem(`expected hosts separated by commas, got ${show(v)}`)),
  },
  users: {
    field: 'users',
    parse: (v) => (v !== undefined && SPEC.test(v) ? v : new Problem(`expected /dev/…, LABEL=, UUID=, PARTUUID= or PARTLABEL=, got ${show(v)}`)),
  },
  usersfstype: {
    field: 'usersFsType',
    parse: (v) => (v !== undefined && /^\w+$/.test(v) ? v : new Problem(`not a filesystem type: ${show(v)}`)),
  },
  rootwait: {
    field: 'rootwaitS',
    parse: (v) => (v !== undefined && /^\d+$/.test(v) && Number(v) <= 3600 ? Number(v) : new Problem(`expected seconds (0-3600), got ${show(v)}`)),
  },
  modules: {
    field: 'modules',
    parse: (v) => {
      const names = (v ?? '').split(',').filter(Boolean);
      return names.length && names.every((n) => MODULE.test(n)) ? names : new Problem(`expected module names separated by commas, got ${show(v)}`);
    },
  },
  user_memory_max: {
    field: 'userMemoryMax',
    parse: parseSize,
  },
  user_disk_max: {
    field: 'userDiskMax',
    parse: parseSize,
  },
  user_pids_max: {
    field: 'userPidsMax',
    parse: (v) => (v !== undefined && /^(max|[1-9]\d*)$/.test(v) ? v : new Problem(`expected a number or max, got ${show(v)}`)),
  },
  user_log_max: {
    field: 'userLogMax',
    parse: (v) => (v !== undefined && /^\d+[KM]?$/.test(v) && toBytes(v, 0) >= 4096 ? v : new Problem(`expected bytes (K/M suffix, at least 4K), got ${show(v)}`)),
  },
  uid_min: {
    field: 'uidMin',
    parse: (v) => (v !== undefined && /^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 60000 ? Number(v) : new Problem(`expected a uid (1-60000), got ${show(v)}`)),
  },
  restart_delay: {
    field: 'restartDelayMs',
    parse: (v) => {
      const [first, max] = (/^(\d{1,7}),(\d{1,7})$/.exec(v ?? '') ?? []).slice(1).map(Number);
      return first >= 10 && max >= first && max <= 3_600_000 ? [first, max] : new Problem(`expected FIRST,MAX in ms (10 ≤ FIRST ≤ MAX ≤ 3600000), got ${show(v)}`);
    },
  },
  userns: {
    field: 'userns',
    parse: (v) => (v === '1' ? true : v === '0' ? false : new Problem(`expected 0 or 1, got ${show(v)}`)),
  },
  user_gids: {
    field: 'anyGid',
    parse: (v) => (v === 'any' ? true : v === 'own' ? false : new Problem(`expected own or any, got ${show(v)}`)),
    current: (settings) => (settings.anyGid ? 'any' : 'own'),
  },
  hostname: {
    field: 'hostname',
    parse: (v) => (v !== undefined && HOSTNAME.test(v) ? v : new Problem(`not a hostname: ${show(v)}`)),
  },
  single: {
    field: 'single',
    parse: (v) => (v === undefined || v === '1' ? true : v === '0' ? false : new Problem(`expected 0 or 1, got ${show(v)}`)),
  },
  shutdown_timeout: {
    field: 'shutdownTimeoutMs',
    parse: (v) =>
      v !== undefined && /^\d+$/.test(v) && Number(v) <= 600_000
        ? Number(v)
        : new Problem(`expected milliseconds (0-600000), got ${show(v)}`),
  },
  loglevel: {
    field: 'logLevel',
    parse: (v) => (LEVELS.includes(v as LogLevel) ? (v as LogLevel) : new Problem(`expected one of ${LEVELS.join(', ')}, got ${show(v)}`)),
  },
};

/** nodeos.net.IF= adds one entry to the interfaces table. */
function interfaceParam(ifname: string): Param<'interfaces'> | undefined {
  if (!IFNAME.test(ifname)) return undefined;
  return {
    field: 'interfaces',
    parse: (v, settings) => {
      const parsed = parseInterface(v);
      return parsed instanceof Problem ? parsed : { ...settings.interfaces, [ifname]: parsed };
    },
    current: (settings) => settings.interfaces[ifname]?.mode ?? settings.net,
  };
}

export function parseCmdline(cmdline: string, ownsKernel = true): Config {
  const settings: Settings = { ...DEFAULTS };
  const warnings: string[] = [];
  for (const word of splitCmdline(cmdline)) {
    if (word === 'single') settings.single = true;
    if (!word.startsWith('nodeos.')) continue;
    const eq = word.indexOf('=');
    const key = word.slice('nodeos.'.length, eq < 0 ? undefined : eq);
    const param = key.startsWith('net.') ? interfaceParam(key.slice(4)) : Object.hasOwn(PARAMS, key) ? PARAMS[key] : undefined;
    if (!param) {
      warnings.push(`unknown parameter nodeos.${key} (ignored)`);
      continue;
    }
    const value = param.parse(eq < 0 ? undefined : word.slice(eq + 1), settings);
    if (value instanceof Problem) warnings.push(`nodeos.${key}: ${value.message} (keeping ${JSON.stringify(param.current?.(settings) ?? settings[param.field])})`);
    else (settings as Record<keyof Settings, unknown>)[param.field] = value;
  }
  return Object.freeze({ ...settings, ownsKernel, warnings: Object.freeze(warnings) });
}

/**
 * Reads /proc/cmdline. NODEOS_CMDLINE replaces it where the kernel's is not
 * ours to read: PID 1 inside a container or a namespace test. In a container
 * without it, the host's command line is not ours either: defaults.
 */
export function readConfig(path = '/proc/cmdline', { container = false } = {}): Config {
  const override = process.env.NODEOS_CMDLINE;
  if (override !== undefined || container) return parseCmdline(override ?? '', false);
  try {
    return parseCmdline(readFileSync(path, 'utf8'));
  } catch (err) {
    return { ...parseCmdline(''), warnings: [`cannot read ${path}: ${(err as Error).message}`] };
  }
}
