// The SSH host key: made at the first boot with a users partition and kept
// there, in the system's root-only folder (never a user's), so clients see
// the same key after every reboot and after a new image. Its fingerprint is
// shown on the consoles' banner so a user can check it.
//
// PID 1 reads it without node:crypto, which it would then hold for as long
// as it runs (2–3 MB) on a machine nobody logs in to by SSH: the key's
// structure is read by hand (openssh-key.ts), its fingerprint hashed by
// @noble/hashes, and a new key is made by a short-lived process
// (dist/ssh-keygen.js, src/ssh/keygen.ts). node:crypto comes with ssh2 at
// the first connection, and the pair is checked then (checkHostKey).
import type { sha256 as Sha256 } from '@noble/hashes/sha2.js' with { 'resolution-mode': 'import' };
import { childProcess } from '../builtins';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { writeAtomic } from '../atomic-write';
import { join } from 'node:path';
import { checkEd25519Pair, ed25519PublicBlob, newEd25519Key } from './openssh-key';

export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

export interface HostKey {
  /** OpenSSH private key text, as ssh2 takes it. */
  private: string;
  /** "SHA256:…", as ssh-keygen -l and ssh print it. */
  fingerprint: string;
}

// An ES module, which TypeScript lets a CommonJS one have by require() only (node ≥ 20.19 loads it so).
const sha256 = (data: Uint8Array) => (require('@noble/hashes/sha2.js') as { sha256: typeof Sha256 }).sha256(data);

/** OpenSSH's fingerprint of a public key blob. */
export const fingerprintOf = (blob: Uint8Array) => `SHA256:${Buffer.from(sha256(blob)).toString('base64').replace(/=+$/, '')}`;

const fromPrivate = (text: string): HostKey => ({ private: text, fingerprint: fingerprintOf(ed25519PublicBlob(text)) });

/** Keeps a key that cannot be used as .bad, so that a new one can be made in its place. */
const setAside = (dir: string) => renameSync(join(dir, HOST_KEY_FILE), join(dir, `${HOST_KEY_FILE}.bad`));

/**
 * The key in dir (a folder 0700 and root's, made when missing), read
 * without node:crypto; no key when there is none yet. A key a power cut or a disk
 * error left unreadable is kept as .bad (`replaced` says why), so a new one
 * can be made: SSH with a new key beats none.
 */
export function readHostKey(dir: string): { key?: HostKey; replaced?: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o777) !== 0o700) chmodSync(dir, 0o700); // only when needed: a read-only partition still serves its key
  const path = join(dir, HOST_KEY_FILE);
  if (!existsSync(path)) return {};
  try {
    return { key: fromPrivate(readFileSync(path, 'utf8')) };
  } catch (err) {
    setAside(dir);
    return { replaced: (err as Error).message };
  }
}

/** A new key in dir, and its .pub (node:crypto: dist/ssh-keygen.js for PID 1). */
export function makeHostKey(dir: string): HostKey {
  const pair = newEd25519Key();
  const path = join(dir, HOST_KEY_FILE);
  writeAtomic(path, pair.private, 0o600, { durable: true });
  writeAtomic(`${path}.pub`, `${pair.public}\n`, 0o644, { durable: true });
  return fromPrivate(pair.private);
}

/** How long making a key may take: it waits for the kernel's random numbers, which are ready moments after boot. */
const KEYGEN_TIMEOUT_MS = 60_000;

/** makeHostKey in dist/ssh-keygen.js, run apart (PID 1's way: node:crypto stays out of it). */
export function makeHostKeyApart(dir: string, script = join(__dirname, 'ssh-keygen.js')): Promise<void> {
  return new Promise((resolve, reject) =>
    childProcess().execFile(process.execPath, [script, dir], { timeout: KEYGEN_TIMEOUT_MS }, (err, _stdout, stderr) =>
      err ? reject(new Error(`${script}: ${stderr.trim() || err.message}`)) : resolve(),
    ),
  );
}

/**
 * The key ssh2 is to serve: this one, or, when its private half does not
 * make its public half (a bit flipped on the disk: clients would refuse
 * every signature), a new one made in its place, the old kept as .bad;
 * `replaced` says why. Takes node:crypto, as ssh2 does.
 */
export function checkHostKey(dir: string, key: HostKey): { key: HostKey; replaced?: string } {
  const problem = checkEd25519Pair(key.private);
  if (!problem) return { key };
  setAside(dir);
  return { key: makeHostKey(dir), replaced: problem };
}
