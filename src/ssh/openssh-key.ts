// Ed25519 private keys in OpenSSH's own file format (PROTOCOL.key), unencrypted:
// what `ssh-keygen -t ed25519 -N ''` writes and what ssh2 takes as a host key.
// Made with node:crypto; read without it, but for the check that the private
// half makes the public one.
import { crypto } from '../builtins';
import { sshString, uint32, WireReader } from './wire';

const MAGIC = Buffer.from('openssh-key-v1\0');
const KEY_TYPE = 'ssh-ed25519';
const PEM = /^-----BEGIN OPENSSH PRIVATE KEY-----\s+([A-Za-z0-9+/=\s]+?)\s*-----END OPENSSH PRIVATE KEY-----\s*$/;
/** PKCS #8's head for an Ed25519 private key, before its 32-byte seed. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

const publicBlob = (pub: Buffer) => Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
const publicOf = (seed: Buffer) => Buffer.from(crypto().createPublicKey(crypto().createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' })).export({ format: 'jwk' }).x!, 'base64url');
/** The private section is padded with 1, 2, 3 … to a multiple of 8 bytes. */
const padding = (length: number) => Buffer.from(Array.from({ length }, (_, i) => i + 1));

/** A new key: the private key file's text, and the public key line (as in .pub files). */
export function newEd25519Key(): { private: string; public: string } {
  const jwk = crypto().generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const [seed, pub] = [Buffer.from(jwk.d!, 'base64url'), Buffer.from(jwk.x!, 'base64url')];
  const check = crypto().randomBytes(4); // the same twice: how OpenSSH sees a key decrypted right
  const secret = Buffer.concat([check, check, sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString('')]);
  const body = Buffer.concat([MAGIC, sshString('none'), sshString('none'), sshString(''), uint32(1), sshString(publicBlob(pub)), sshString(Buffer.concat([secret, padding((8 - (secret.length % 8)) % 8)]))]);
  const text = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.toString('base64').match(/.{1,70}/g)!.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
  return { private: text, public: `${KEY_TYPE} ${publicBlob(pub).toString('base64')}` };
}

/**
 * The public key blob of an unencrypted Ed25519 key file, read without
 * node:crypto (PID 1 at boot); throws, saying what is wrong, for anything
 * else. Whether its private half makes its public half takes node:crypto:
 * that is checkEd25519Pair.
 */
export const ed25519PublicBlob = (text: string): Buffer => readEd25519(text).blob;

/** Why the private key does not make the public key beside it (node:crypto), or undefined when it does. */
export function checkEd25519Pair(text: string): string | undefined {
  const { seed, pub } = readEd25519(text);
  return publicOf(seed).equals(pub) ? undefined : 'the private key does not make its public key';
}

function readEd25519(text: string): { blob: Buffer; seed: Buffer; pub: Buffer } {
  const pem = PEM.exec(text);
  const body = pem ? Buffer.from(pem[1].replace(/\s+/g, ''), 'base64') : Buffer.alloc(0);
  if (!body.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an OpenSSH private key');
  try {
    const reader = new WireReader(body.subarray(MAGIC.length));
    const [cipher, kdf] = [reader.string().toString(), reader.string().toString()];
    reader.string(); // kdf options
    if (cipher !== 'none' || kdf !== 'none') throw new Error(`encrypted (${cipher})`);
    if (reader.uint32() !== 1) throw new Error('not one key');
    const blob = reader.string();
    const secret = new WireReader(reader.string());
    if (secret.uint32() !== secret.uint32()) throw new Error('check numbers differ');
    const type = secret.string().toString();
    if (type !== KEY_TYPE) throw new Error(`a ${type} key, not ${KEY_TYPE}`);
    const [pub, pair] = [secret.string(), secret.string()];
    secret.string(); // comment
    if (pub.length !== 32 || pair.length !== 64 || !pair.subarray(32).equals(pub)) throw new Error('key lengths or halves do not match');
    if (!blob.equals(publicBlob(pub))) throw new Error('public key differs from the private one');
    if (!secret.rest().equals(padding(secret.rest().length))) throw new Error('bad padding');
    return { blob, seed: pair.subarray(0, 32), pub };
  } catch (err) {
    throw new Error(`OpenSSH private key: ${(err as Error).message}`);
  }
}
