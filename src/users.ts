// The users: every top-level folder of the users partition is one. Its owner
// gives the uid and gid; its `init` is what runs. `root` comes first.
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/** Who a top-level folder is: its name, its owner's uid and gid, the folder. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
  /** /home/NAME */
  home: string;
}

export interface User extends Account {
  /** The init to execute (symlinks resolved, always inside the home). */
  init: string;
}

export interface Discovery {
  users: User[];
  /** Folders that are not (runnable) users, and why. */
  skipped: string[];
}

const NOT_USERS = new Set(['lost+found']);
/** The system's own files on the users partition (a dot-folder: never a user). */
export const SETTINGS_DIR = '.nodeos';
/** Written by `build --app` in the users partition's system folder: this machine is an appliance. */
export const APP_MARKER = 'app.json';

/** The user's init, checked: a regular executable file owned by the user, inside the home. */
export function checkInit(home: string, uid: number): string {
  const path = join(home, 'init');
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new Error(lstatExists(path) ? 'init is a dangling symlink' : 'no init');
  }
  if (!real.startsWith(`${realpathSync(home)}/`)) throw new Error(`init leads out of the home (${real}): refused`);
  const stat = statSync(real);
  if (!stat.isFile()) throw new Error('init is not a regular file');
  if (stat.uid !== uid) throw new Error(`init is owned by uid ${stat.uid}, not by the user (${uid})`);
  if ((stat.mode & 0o100) === 0) throw new Error('init is not executable by its owner');
  return real;
}

/**
 * A file a user keeps secrets or trust in (a password hash, authorized keys),
 * read only when it is safe to believe: a regular file (a symlink could lead
 * to anyone's), the user's own (or root's, where allowed), and with none of
 * the `closed` mode bits set. undefined when there is none; throws why not.
 */
export function readOwnFile(path: string, uid: number, closed: number, { chmod, rootMayOwn = false }: { chmod?: string; rootMayOwn?: boolean } = {}): string | undefined {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const refuse = (why: string) => new Error(`${path}: ${why}`);
  if (!stat.isFile()) throw refuse('not a regular file');
  if (stat.uid !== uid && !(rootMayOwn && stat.uid === 0)) throw refuse(`belongs to uid ${stat.uid}, not ${uid}`);
  if (stat.mode & closed) {
    const access = closed & 0o044 ? 'readable or writable' : 'writable';
    throw refuse(`${access} by others (mode ${(stat.mode & 0o777).toString(8)}${chmod ? `; chmod ${chmod}` : ''})`);
  }
  return readFileSync(path, 'utf8');
}

const lstatExists = (path: string) => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

/** Who may be a user at all: the documented floor of uids and whether groups may differ from uids. */
export interface AccountPolicy {
  /** nodeos.uid_min: uids below are the system's (Debian's FIRST_UID is 1000). */
  uidMin: number;
  /** nodeos.user_gids=any: a folder's group may be another than its uid (never 0). */
  anyGid: boolean;
}
export const DEFAULT_ACCOUNT_POLICY: AccountPolicy = { uidMin: 1000, anyGid: false };

/** Longer names are refused (useradd's limit too): they end up in cgroup and mount paths and on login prompts. */
const MAX_NAME_BYTES = 32;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const hex = (bytes: Iterable<number>) => [...bytes].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');

/** A name as it can be logged: printable text as is; control characters, backslashes and bytes that are not UTF-8 as \xNN. */
export function escapeName(raw: Uint8Array): string {
  try {
    return [...utf8.decode(raw)].map((c) => (CONTROL.test(c) || c === '\\' ? hex(Buffer.from(c)) : c)).join('');
  } catch {
    return [...raw].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : hex([b]))).join('');
  }
}

/**
 * What a top-level entry's name says: silently not a user (dot-folders,
 * lost+found), refused (names that cannot be shown or used safely), or a name.
 */
export function readName(raw: Uint8Array): { name: string } | { ignore: true } | { problem: string } {
  let name: string;
  try {
    name = utf8.decode(raw);
  } catch {
    return { problem: 'the name is not UTF-8' };
  }
  if (name.startsWith('.') || NOT_USERS.has(name)) return { ignore: true };
  if (CONTROL.test(name)) return { problem: 'the name has control characters' };
  if (name.includes('/') || name.length === 0) return { problem: 'not a name' };
  if (raw.length > MAX_NAME_BYTES) return { problem: `the name is longer than ${MAX_NAME_BYTES} bytes` };
  return { name };
}

/** What the rules look at: the folder's kind and owner. */
type Owner = Pick<Stats, 'isDirectory' | 'isSymbolicLink' | 'uid' | 'gid'>;

/**
 * Why a top-level entry may not be an account (undefined: it may). Only the
 * folder named root runs as root; nobody else gets uid or gid 0, a system
 * uid, or (unless allowed) a group other than their own, whoever owns a folder.
 */
export function accountProblem(name: string, stat: Owner, policy: AccountPolicy): string | undefined {
  if (stat.isSymbolicLink()) return 'a symlink, not a folder';
  if (!stat.isDirectory()) return 'not a folder';
  const owner = `${stat.uid}:${stat.gid}`;
  if (name === 'root') return stat.uid === 0 && stat.gid === 0 ? undefined : `owned by ${owner}, not 0:0: refused`;
  if (stat.uid === 0 || stat.gid === 0) return `owned by ${owner}: only the folder named root runs as root; refused`;
  if (stat.uid < policy.uidMin) return `owned by uid ${stat.uid}, a system uid (below nodeos.uid_min=${policy.uidMin}): refused`;
  if (stat.gid !== stat.uid && !policy.anyGid) return `its group ${stat.gid} is not its uid ${stat.uid} (nodeos.user_gids=any allows that): refused`;
  return undefined;
}

/** The account a name stands for (a top-level folder that may be one), or undefined; for logging in, init or not. */
export function findAccount(name: string, policy: AccountPolicy, homes = '/home'): Account | undefined {
  const read = readName(Buffer.from(name));
  if (!('name' in read) || read.name !== name) return undefined;
  const home = join(homes, name);
  try {
    const stat = lstatSync(home);
    return accountProblem(name, stat, policy) ? undefined : { name, uid: stat.uid, gid: stat.gid, home };
  } catch {
    return undefined;
  }
}

/**
 * The top-level folders that may be accounts, root first, then by name (the
 * order users start in, and stop in reversed), and why the others may not.
 * `stat` stands in for lstat where the owners are not yet on disk (an image
 * being built with --owner).
 */
export function accountFolders(policy: AccountPolicy, homes = '/home', stat: (path: string) => Owner = lstatSync): { accounts: Account[]; skipped: string[] } {
  const accounts: Account[] = [];
  const skipped: string[] = [];
  const names: string[] = [];
  for (const raw of readdirSync(homes, { encoding: 'buffer' })) {
    const read = readName(raw);
    if ('name' in read) names.push(read.name);
    else if ('problem' in read) skipped.push(`${escapeName(raw)}: ${read.problem}`);
  }
  names.sort((a, b) => (a === 'root' ? -1 : b === 'root' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const home = join(homes, name);
    const owner = stat(home);
    const problem = accountProblem(name, owner, policy);
    if (problem) skipped.push(`${name}: ${problem}`);
    else accounts.push({ name, uid: owner.uid, gid: owner.gid, home });
  }
  return { accounts, skipped };
}

/** The users of a homes folder: its accounts with a runnable init. */
export function discoverUsers(policy: AccountPolicy, homes = '/home'): Discovery {
  const { accounts, skipped } = accountFolders(policy, homes);
  const users: User[] = [];
  for (const account of accounts) {
    try {
      users.push({ ...account, init: checkInit(account.home, account.uid) });
    } catch (err) {
      skipped.push(`${account.name}: ${(err as Error).message}`);
    }
  }
  return { users, skipped };
}

export interface UserLimits {
  memoryMax: string;
  pidsMax: string;
  /** Bytes on the users partition (a quota), or max. */
  diskMax: string;
}

/** A user's ~/.nodeos/config.json (limits, health check): its fields, or why it could not be read (none is fine). */
export function readUserConfig(home: string): { own: { memoryMax?: unknown; pidsMax?: unknown; diskMax?: unknown; health?: unknown }; problem?: string } {
  try {
    const own: unknown = JSON.parse(readFileSync(join(home, SETTINGS_DIR, 'config.json'), 'utf8'));
    if (typeof own !== 'object' || own === null || Array.isArray(own)) return { own: {}, problem: '.nodeos/config.json: not an object' };
    return { own };
  } catch (err) {
    return { own: {}, problem: (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : `.nodeos/config.json: ${(err as Error).message}` };
  }
}

/**
 * A user's limits: the system's, lowered (never raised) by ~/.nodeos/config.json
 * ({"memoryMax": "256M", "pidsMax": 100, "diskMax": "1G"}); N% is of the RAM
 * for memory and of the users partition for disk. Returns the problems found too.
 */
export function userLimits(home: string, system: UserLimits, total: { memory: number; disk: number }): { limits: UserLimits; problems: string[] } {
  const problems: string[] = [];
  const { own, problem } = readUserConfig(home);
  if (problem) problems.push(problem);
  const size = (key: 'memoryMax' | 'diskMax', of: number) => {
    const cap = toBytes(system[key], of);
    if (own[key] === undefined) return cap;
    const wanted = typeof own[key] === 'string' || typeof own[key] === 'number' ? toBytes(String(own[key]), of) : NaN;
    if (Number.isNaN(wanted)) problems.push(`.nodeos/config.json: ${key} ${JSON.stringify(own[key])} is not a size`);
    return Number.isNaN(wanted) ? cap : Math.min(cap, wanted);
  };
  const memory = size('memoryMax', total.memory);
  const disk = size('diskMax', total.disk);
  let pids = system.pidsMax === 'max' ? Infinity : Number(system.pidsMax);
  if (own.pidsMax !== undefined) {
    const wanted = own.pidsMax === 'max' ? Infinity : Number(own.pidsMax);
    if (!(wanted >= 1)) problems.push(`.nodeos/config.json: pidsMax ${JSON.stringify(own.pidsMax)} is not a count`);
    else pids = Math.min(pids, wanted);
  }
  const text = (n: number) => (n === Infinity ? 'max' : String(Math.floor(n)));
  return { limits: { memoryMax: text(memory), pidsMax: text(pids), diskMax: text(disk) }, problems };
}

/** "256M", "1G", "75%" (of totalMemory), "max" → bytes (Infinity for max); NaN when unreadable. */
export function toBytes(size: string, totalMemory: number): number {
  if (size === 'max') return Infinity;
  const match = /^(\d+)([KMG%]?)$/.exec(size);
  if (!match) return NaN;
  const n = Number(match[1]);
  if (match[2] === '%') return Math.floor((totalMemory * n) / 100);
  return n * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2] as '' | 'K' | 'M' | 'G'];
}
