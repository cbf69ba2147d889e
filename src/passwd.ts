// Login passwords: ~/.nodeos/passwd holds one salted scrypt hash (node:crypto)
// in the PHC string format, `$scrypt$ln=15,r=8,p=1$SALT$HASH` (base64), and
// nothing else. Never a fast hash, never the password. The file must belong
// to its user and be readable by no one else (root reads it anyway), as ssh
// insists for its own files.
import type { ScryptOptions } from 'node:crypto';
import { join } from 'node:path';
import { crypto } from './builtins';
import { readOwnFile, SETTINGS_DIR } from './users';

// node:crypto is required when a password is checked or set, not when PID 1 loads (it is no part of boot).
const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => crypto().scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

export const PASSWD_FILE = 'passwd';
/** 2^15 × r 8 = 32 MiB and a fraction of a second per try: slow for guessing, bearable at a login. */
export const DEFAULT_COST = { ln: 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** The most any stored parameters may ask for: a planted file must not exhaust PID 1's memory. */
const MAX_LN = 20;
const MAX_MEMORY = 256 * 1024 * 1024;

export interface PasswordHash {
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const scryptOptions = ({ ln, r, p }: Pick<PasswordHash, 'ln' | 'r' | 'p'>): ScryptOptions => ({ N: 2 ** ln, r, p, maxmem: MAX_MEMORY });

/** Parses the one line of a passwd file; throws saying what is wrong. */
export function parsePasswordHash(text: string): PasswordHash {
  const lines = text.split('\n').filter((line) => line.trim());
  if (lines.length !== 1) throw new Error(`expected one line, found ${lines.length}`);
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(lines[0].trim());
  if (!match) throw new Error('not a $scrypt$ln=…,r=…,p=…$SALT$HASH line');
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (ln < 10 || ln > MAX_LN || r < 1 || p < 1 || 128 * r * 2 ** ln > MAX_MEMORY / 2) throw new Error(`scrypt parameters ln=${ln},r=${r},p=${p} out of range`);
  const [salt, hash] = [Buffer.from(match[4], 'base64'), Buffer.from(match[5], 'base64')];
  if (salt.length < 8 || hash.length < 16) throw new Error('salt or hash too short');
  return { ln, r, p, salt, hash };
}

export const formatPasswordHash = ({ ln, r, p, salt, hash }: PasswordHash) => `$scrypt$ln=${ln},r=${r},p=${p}$${salt.toString('base64')}$${hash.toString('base64')}\n`;

export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  const salt = crypto().randomBytes(SALT_BYTES);
  return formatPasswordHash({ ...cost, salt, hash: await scrypt(password, salt, KEY_BYTES, scryptOptions(cost)) });
}

/** True when the password matches; the comparison takes the same time wherever they differ. */
export async function verifyPassword(stored: PasswordHash, password: string): Promise<boolean> {
  const candidate = await scrypt(password, stored.salt, stored.hash.length, scryptOptions(stored));
  return crypto().timingSafeEqual(candidate, stored.hash);
}

/** Spent on names that have no password, so a reply's timing does not tell which names exist. */
export const DECOY: PasswordHash = { ...DEFAULT_COST, salt: Buffer.alloc(SALT_BYTES, 1), hash: Buffer.alloc(KEY_BYTES) };

/**
 * A user's stored hash, from HOME/.nodeos/passwd, checked: a regular file of
 * the user's own, closed to group and others. undefined when there is none;
 * throws what is wrong otherwise (the user then cannot log in by password).
 */
export function readUserPassword(home: string, uid: number, settingsDir = SETTINGS_DIR): PasswordHash | undefined {
  const path = join(home, settingsDir, PASSWD_FILE);
  const text = readOwnFile(path, uid, 0o077, { chmod: '600' });
  if (text === undefined) return undefined;
  try {
    return parsePasswordHash(text);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
