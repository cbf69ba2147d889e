// The SSH host key: made at the first boot with a users partition and kept
// there, in the system's root-only folder (never a user's), so clients see
// the same key after every reboot and after a new image. Its fingerprint is
// shown on the consoles' banner so a user can check it. Made and read with
// node:crypto (openssh-key.ts): ssh2, most of PID 1's code and memory, loads
// only when someone connects.
import { crypto } from '../builtins';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { writeAtomic } from '../atomic-write';
import { join } from 'node:path';
import { ed25519PublicBlob, newEd25519Key } from './openssh-key';

export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

export interface HostKey {
  /** OpenSSH private key text, as ssh2 takes it. */
  private: string;
  /** "SHA256:…", as ssh-keygen -l and ssh print it. */
  fingerprint: string;
}

/** OpenSSH's fingerprint of a public key blob. */
export const fingerprintOf = (blob: Buffer) => `SHA256:${crypto().createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

const fromPrivate = (text: string): HostKey => ({ private: text, fingerprint: fingerprintOf(ed25519PublicBlob(text)) });

/**
 * Reads the host key from dir (0700, root's), or makes one there; `made`
 * says which. A key a power cut or a disk error left unreadable is kept as
 * .bad and replaced (`replaced` says why): SSH with a new key beats none.
 */
export function loadHostKey(dir: string): HostKey & { made: boolean; replaced?: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o777) !== 0o700) chmodSync(dir, 0o700); // only when needed: a read-only partition still serves its key
  const path = join(dir, HOST_KEY_FILE);
  let replaced: string | undefined;
  if (existsSync(path)) {
    try {
      return { ...fromPrivate(readFileSync(path, 'utf8')), made: false };
    } catch (err) {
      replaced = (err as Error).message;
      renameSync(path, `${path}.bad`);
    }
  }
  const pair = newEd25519Key();
  writeAtomic(path, pair.private, 0o600, { durable: true });
  writeAtomic(`${path}.pub`, `${pair.public}\n`, 0o644, { durable: true });
  return { ...fromPrivate(pair.private), made: true, ...(replaced && { replaced }) };
}
