// SSH's pure parts: authorized_keys as OpenSSH writes it, and the host key's format.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { utils, type ParsedKey } from 'ssh2';
import { fingerprintOf, HOST_KEY_FILE, makeHostKey } from '../../src/ssh/host-key';
import { checkEd25519Pair, ed25519PublicBlob } from '../../src/ssh/openssh-key';
import { findKey, parseAuthorizedKeys } from '../../src/ssh/authorized-keys';

// A real ed25519 public key (ssh-keygen), and one of another type.
const ED25519 = 'AAAAC3NzaC1lZDI1NTE5AAAAIPcd0dU5Qnj4sW8nXN0Fc1tYhGYvvGk1RxHg0PzQ3rF/';
const blob = (type: string, key: Buffer) => {
  const name = Buffer.from(type);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(name.length);
  return Buffer.concat([head, name, key]).toString('base64');
};
const RSA = blob('ssh-rsa', Buffer.alloc(40, 3));

t.test('keys, comments, options and bad lines', async (t) => {
  const { keys, problems } = parseAuthorizedKeys(
    [
      '# alice\'s keys',
      '',
      `ssh-ed25519 ${ED25519} alice@laptop`,
      `  ssh-rsa ${RSA}  `,
      `no-pty,no-port-forwarding ssh-ed25519 ${ED25519} restricted key`,
      `from="10.0.0.1,10.0.0.2" ssh-ed25519 ${ED25519} from somewhere`,
      `command="echo a, b" ssh-ed25519 ${ED25519}`,
      'ssh-ed25519 not*base64',
      `ssh-rsa ${ED25519} wrong type inside`,
      'ssh-foo AAAA',
      `no-pty,"unclosed ssh-ed25519 ${ED25519}`,
      'garbage',
    ].join('\n'),
  );
  t.same(
    keys.map((k) => [k.type, k.comment, k.noPty]),
    [
      ['ssh-ed25519', 'alice@laptop', false],
      ['ssh-rsa', '', false],
      ['ssh-ed25519', 'restricted key', true],
    ],
  );
  t.same(problems, [
    'line 6: option from is not supported here: key ignored',
    'line 7: option command is not supported here: key ignored',
    'line 8: the key is not base64',
    "line 9: the key's data is not a ssh-rsa key",
    'line 10: unknown key type "AAAA"',
    'line 11: neither a key type nor options followed by one',
    'line 12: neither a key type nor options followed by one',
  ]);
  const offered = Buffer.from(ED25519, 'base64');
  t.equal(findKey(keys, 'ssh-ed25519', offered)?.comment, 'alice@laptop');
  t.equal(findKey(keys, 'ssh-rsa', offered), undefined, 'the type must match too');
  t.equal(findKey(keys, 'ssh-ed25519', Buffer.from(RSA, 'base64')), undefined);
});

// The host key in OpenSSH's format, made and read without ssh2: ssh2 and ssh-keygen must agree with it, and a key
// written by ssh2 (every NodeOS before this format was ours) or by ssh-keygen must still be read with its fingerprint.
t.test('host keys: ours are OpenSSH keys, and OpenSSH and ssh2 keys are ours', async (t) => {
  const dir = t.testdir({});
  const made = makeHostKey(dir);
  t.equal(checkEd25519Pair(made.private), undefined, 'its halves agree');
  const parsed = utils.parseKey(made.private);
  t.notOk(parsed instanceof Error, 'ssh2 reads our key');
  t.equal(fingerprintOf((Array.isArray(parsed) ? parsed[0] : (parsed as ParsedKey)).getPublicSSH()), made.fingerprint);
  const keygen = spawnSync('ssh-keygen', ['-l', '-f', join(dir, HOST_KEY_FILE)], { encoding: 'utf8' });
  t.match(keygen.stdout, `256 ${made.fingerprint} `, 'ssh-keygen reads it, the same fingerprint');
  t.equal(readFileSync(join(dir, `${HOST_KEY_FILE}.pub`), 'utf8').trim().split(' ')[1], ed25519PublicBlob(made.private).toString('base64'), 'the .pub line');

  const ssh2Key = utils.generateKeyPairSync('ed25519').private;
  const ssh2Parsed = utils.parseKey(ssh2Key) as ParsedKey;
  t.equal(fingerprintOf(ed25519PublicBlob(ssh2Key)), fingerprintOf(ssh2Parsed.getPublicSSH()), "a key ssh2 made");
  const path = join(dir, 'keygen');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
  t.match(spawnSync('ssh-keygen', ['-l', '-f', path], { encoding: 'utf8' }).stdout, fingerprintOf(ed25519PublicBlob(readFileSync(path, 'utf8'))), 'a key ssh-keygen made');
});

t.test('damaged or foreign host keys are refused, saying why', async (t) => {
  const good = makeHostKey(t.testdir({})).private;
  const body = Buffer.from(good.split('\n').slice(1, -2).join(''), 'base64');
  const pem = (data: Buffer) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${data.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
  t.throws(() => ed25519PublicBlob(''), /not an OpenSSH private key/);
  t.throws(() => ed25519PublicBlob(pem(body.subarray(0, body.length - 40))), /truncated/);
  const flipped = Buffer.from(body);
  flipped[flipped.length - 120] ^= 1; // inside the private section
  t.throws(() => ed25519PublicBlob(pem(flipped)), /OpenSSH private key: a .* key, not ssh-ed25519/);
  const seed = Buffer.from(body);
  seed[seed.length - 73] ^= 1; // the private key's first byte (a 136-byte private section, comment empty)
  t.equal(fingerprintOf(ed25519PublicBlob(pem(seed))), fingerprintOf(ed25519PublicBlob(good)), 'a flipped private key is read, its structure intact');
  t.equal(checkEd25519Pair(pem(seed)), 'the private key does not make its public key', 'and caught when the pair is checked');
  const path = join(t.testdir({}), 'rsa');
  spawnSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', path]);
  t.throws(() => ed25519PublicBlob(readFileSync(path, 'utf8')), /a ssh-rsa key, not ssh-ed25519/);
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', `${path}-enc`]);
  t.throws(() => ed25519PublicBlob(readFileSync(`${path}-enc`, 'utf8')), /encrypted \(aes256-ctr\)/);
});
