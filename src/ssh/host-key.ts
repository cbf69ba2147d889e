// The SSH host key: made at the first boot with a users partition and kept
// there, in the system's root-only folder (never a user's), so clients see
// the same key after every reboot and after a new image. Its fingerprint is
// shown on the consoles' banner so a user can check it. Made and read here
// with node:crypto in OpenSSH's own format (PROTOCOL.key): ssh2, most of
// PID 1's code and memory, loads only when someone connects.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { writeAtomic } from '../atomic-write';
import { join } from 'node:path';

export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

export interface HostKey {
  /** OpenSSH private key text, as ssh2 takes it. */
  private: string;
  /** "SHA256:…", as ssh-keygen -l and ssh print it. */
  fingerprint: string;
}

/** OpenSSH's fingerprint of a public key blob. */
export const fingerprintOf = (blob: Buffer) => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

const MAGIC = Buffer.from('openssh-key-v1\0');
const KEY_TYPE = 'ssh-ed25519';
const PEM = /^-----BEGIN OPENSSH PRIVATE KEY-----\s+([A-Za-z0-9+/=\s]+?)\s*-----END OPENSSH PRIVATE KEY-----\s*$/;

/** SSH's wire strings: a 32-bit length, then the bytes. */
const sshString = (data: Buffer | string) => {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const uint32 = (n: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
};

/** Reads SSH's wire format front to back; any read past the end throws. */
class Reader {
  private at = 0;
  constructor(private readonly data: Buffer) {}
  uint32(): number {
    if (this.at + 4 > this.data.length) throw new Error('truncated');
    const n = this.data.readUInt32BE(this.at);
    this.at += 4;
    return n;
  }
  string(): Buffer {
    const length = this.uint32();
    if (this.at + length > this.data.length) throw new Error('truncated');
    this.at += length;
    return this.data.subarray(this.at - length, this.at);
  }
  rest(): Buffer {
    return this.data.subarray(this.at);
  }
}

/** PKCS #8's head for an Ed25519 private key, before its 32-byte seed. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const publicOf = (seed: Buffer) => Buffer.from(createPublicKey(createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' })).export({ format: 'jwk' }).x!, 'base64url');

const publicBlob = (pub: Buffer) => Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);

/** An unencrypted Ed25519 key in OpenSSH's format, from its 32-byte seed and public key. */
export function encodeHostKey(seed: Buffer, pub: Buffer, comment: string): string {
  const check = randomBytes(4); // OpenSSH's checkint: the same twice means decrypted right
  let secret = Buffer.concat([check, check, sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1))]);
  const body = Buffer.concat([MAGIC, sshString('none'), sshString('none'), sshString(''), uint32(1), sshString(publicBlob(pub)), sshString(secret)]);
  const lines = body.toString('base64').match(/.{1,70}/g)!;
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** The public key blob of an unencrypted Ed25519 key in OpenSSH's format; throws, saying what is wrong, on anything else. */
export function hostKeyBlob(text: string): Buffer {
  const pem = PEM.exec(text);
  if (!pem) throw new Error('not an OpenSSH private key');
  const body = Buffer.from(pem[1].replace(/\s+/g, ''), 'base64');
  if (!body.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an OpenSSH private key');
  try {
    const reader = new Reader(body.subarray(MAGIC.length));
    const [cipher, kdf] = [reader.string().toString(), reader.string().toString()];
    reader.string(); // kdf options
    if (cipher !== 'none' || kdf !== 'none') throw new Error(`encrypted (${cipher})`);
    if (reader.uint32() !== 1) throw new Error('not one key');
    const blob = reader.string();
    const secret = new Reader(reader.string());
    if (secret.uint32() !== secret.uint32()) throw new Error('check numbers differ');
    const type = secret.string().toString();
    if (type !== KEY_TYPE) throw new Error(`a ${type} key, not ${KEY_TYPE}`);
    const [pub, pair] = [secret.string(), secret.string()];
    secret.string(); // comment
    if (pub.length !== 32 || pair.length !== 64 || !pair.subarray(32).equals(pub)) throw new Error('key lengths or halves do not match');
    if (!blob.equals(publicBlob(pub))) throw new Error('public key differs from the private one');
    if (!publicOf(pair.subarray(0, 32)).equals(pub)) throw new Error('the private key does not make its public key');
    if (!secret.rest().equals(Buffer.from(Array.from({ length: secret.rest().length }, (_, i) => i + 1)))) throw new Error('bad padding');
    return blob;
  } catch (err) {
    throw new Error(`OpenSSH private key: ${(err as Error).message}`);
  }
}

/** A new Ed25519 key pair: the private key (OpenSSH) and the public key line (as in .pub files). */
function makeHostKey(): { private: string; public: string } {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const [seed, pub] = [Buffer.from(jwk.d!, 'base64url'), Buffer.from(jwk.x!, 'base64url')];
  return { private: encodeHostKey(seed, pub, ''), public: `${KEY_TYPE} ${publicBlob(pub).toString('base64')}` };
}

const fromPrivate = (text: string): HostKey => ({ private: text, fingerprint: fingerprintOf(hostKeyBlob(text)) });

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
  const pair = makeHostKey();
  writeAtomic(path, pair.private, 0o600, { durable: true });
  writeAtomic(`${path}.pub`, `${pair.public}\n`, 0o644, { durable: true });
  return { ...fromPrivate(pair.private), made: true, ...(replaced && { replaced }) };
}
