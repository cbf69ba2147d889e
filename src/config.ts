// The kernel command line → one typed, frozen config. Our keys are namespaced
// `nodeos.*`; the kernel's own words are not ours and are ignored. Unknown or
// malformed `nodeos.*` values are reported as warnings, never fatal: a typo on
// the command line must not keep a machine from booting.
import { readFileSync } from 'node:fs';

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
  /** nodeos.user_pids_max= — each user's pids.max (a number or max). */
  readonly userPidsMax: string;
  /** What was wrong with the command line, to be logged once logging is up. */
  readonly warnings: readonly string[];
}

export const DEFAULTS: Omit<Config, 'warnings'> = {
  hostname: 'nodeos',
  single: false,
  shutdownTimeoutMs: 5000,
  logLevel: 'info',
  users: 'LABEL=nodeos-users',
  usersFsType: '',
  rootwaitS: 10,
  modules: [],
  userMemoryMax: '75%',
  userPidsMax: '1024',
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
  parse(value: string | undefined): Settings[F] | Problem;
}
class Problem {
  constructor(readonly message: string) {}
}

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const show = (value: string | undefined) => (value === undefined ? 'nothing' : JSON.stringify(value));

const SPEC = /^(\/dev\/\S+|(LABEL|UUID|PARTUUID|PARTLABEL)=.+)$/;
const MODULE = /^[\w-]+$/;

const PARAMS: { [key: string]: Param<keyof Settings> } = {
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
    parse: (v) => (v !== undefined && /^(max|\d+[KMG]?|\d{1,2}%|100%)$/.test(v) ? v : new Problem(`expected bytes (K/M/G), N% or max, got ${show(v)}`)),
  },
  user_pids_max: {
    field: 'userPidsMax',
    parse: (v) => (v !== undefined && /^(max|[1-9]\d*)$/.test(v) ? v : new Problem(`expected a number or max, got ${show(v)}`)),
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

export function parseCmdline(cmdline: string): Config {
  const settings: Settings = { ...DEFAULTS };
  const warnings: string[] = [];
  for (const word of splitCmdline(cmdline)) {
    if (word === 'single') settings.single = true;
    if (!word.startsWith('nodeos.')) continue;
    const eq = word.indexOf('=');
    const key = word.slice('nodeos.'.length, eq < 0 ? undefined : eq);
    const param = Object.hasOwn(PARAMS, key) ? PARAMS[key] : undefined;
    if (!param) {
      warnings.push(`unknown parameter nodeos.${key} (ignored)`);
      continue;
    }
    const value = param.parse(eq < 0 ? undefined : word.slice(eq + 1));
    if (value instanceof Problem) warnings.push(`nodeos.${key}: ${value.message} (keeping ${JSON.stringify(settings[param.field])})`);
    else (settings as Record<keyof Settings, unknown>)[param.field] = value;
  }
  return Object.freeze({ ...settings, warnings: Object.freeze(warnings) });
}

/**
 * Reads /proc/cmdline. NODEOS_CMDLINE replaces it where the kernel's is not
 * ours to read: PID 1 inside a container or a namespace test.
 */
export function readConfig(path = '/proc/cmdline'): Config {
  const override = process.env.NODEOS_CMDLINE;
  if (override !== undefined) return parseCmdline(override);
  try {
    return parseCmdline(readFileSync(path, 'utf8'));
  } catch (err) {
    return { ...parseCmdline(''), warnings: [`cannot read ${path}: ${(err as Error).message}`] };
  }
}
