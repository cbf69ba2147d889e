// The SSH server on the host's loopback, without a guest: the host key made
// apart (dist/ssh-keygen.js, as PID 1 does), kept across starts, replaced
// when damaged or when its halves disagree, and a flood of connections that never log in is bounded
// (the rest refused at once, the admitted ones timed) while the server
// keeps answering real clients' hellos.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SshServer } from '../../src/ssh/server';
import { HOST_KEY_FILE, makeHostKeyApart } from '../../src/ssh/host-key';
import { DIST } from '../../build/paths';
import { authenticator } from '../../src/login';
import { DEFAULT_ACCOUNT_POLICY } from '../../src/users';
import { LoginGuard } from '../../src/login-guard';
import { memoryLog } from '../fixtures/fake-sys';

const start = async (keyDir: string) => {
  const log = memoryLog();
  const server = new SshServer(
    { port: 0, host: '127.0.0.1', passwordAuth: false, keyDir },
    {
      log,
      sys: { openpty: () => { throw new Error('no sessions here'); }, setWindowSize: () => {} },
      auth: authenticator(new LoginGuard(Date.now), log, async () => {}, DEFAULT_ACCOUNT_POLICY, keyDir),
      launchSpec: () => { throw new Error('no sessions here'); },
      programs: { session: { init: '', argv: [] }, sftp: { init: '', argv: [] } },
      makeHostKey: (dir) => makeHostKeyApart(dir, join(DIST, 'ssh-keygen.js')),
    },
  );
  await server.start();
  while (server.port === undefined) await new Promise((r) => setTimeout(r, 10));
  return { server, log };
};

t.test('host key: made once, then kept', async (t) => {
  const dir = t.testdir({});
  const first = await start(dir);
  await first.server.stop();
  const second = await start(dir);
  await second.server.stop();
  t.match(first.log.lines.join('\n'), /made a host key: SHA256:[\w+/]{43} \(ED25519\)/);
  t.equal(await second.server.fingerprint(), await first.server.fingerprint(), 'the same key after a restart');
  t.match(second.log.lines.join('\n'), /info: host key: SHA256:/);
  // A power cut before the key reached the disk leaves an empty file: a new key, the old one kept aside, and a warning.
  writeFileSync(join(dir, HOST_KEY_FILE), '');
  const third = await start(dir);
  await third.server.stop();
  t.not(await third.server.fingerprint(), await first.server.fingerprint());
  t.match(third.log.lines.join('\n'), /warn: the host key was unreadable \(.*\): kept as ssh_host_ed25519_key\.bad, a new one made/);
  t.equal(readFileSync(join(dir, `${HOST_KEY_FILE}.bad`), 'utf8'), '');
  t.equal(statSync(join(dir, HOST_KEY_FILE)).mode & 0o777, 0o600);
  t.equal(readFileSync(join(dir, `${HOST_KEY_FILE}.pub`), 'utf8').split(' ')[0], 'ssh-ed25519', 'and its .pub');
});

// A bit flipped in the private half leaves the file readable, so the boot serves its fingerprint; the pair is checked
// when ssh2 (and node:crypto) loads at the first connection, and the key replaced before anyone is sent a signature.
t.test("host key: one whose halves disagree is replaced at the first connection", async (t) => {
  const dir = t.testdir({});
  const path = join(dir, HOST_KEY_FILE);
  const first = await start(dir);
  await first.server.stop();
  const text = readFileSync(path, 'utf8');
  const body = Buffer.from(text.split('\n').slice(1, -2).join(''), 'base64');
  body[body.length - 73] ^= 1; // the private key's first byte
  writeFileSync(path, `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`);
  const { server, log } = await start(dir);
  t.teardown(() => server.stop());
  const before = await server.fingerprint();
  t.equal(before, await first.server.fingerprint(), 'read at start: the public half is intact');
  const socket = connect(server.port!, '127.0.0.1').on('error', () => {});
  const [hello] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  t.match(hello.toString(), /^SSH-2\.0-NodeOS/, 'the connection is served');
  t.not(await server.fingerprint(), before, 'with a new key');
  t.match(log.lines.join('\n'), /warn: the host key was unusable \(the private key does not make its public key\): kept as ssh_host_ed25519_key\.bad, a new one made; clients will see a new fingerprint: SHA256:[\w+/]{43} \(ED25519\)/);
  t.not(readFileSync(path, 'utf8'), readFileSync(`${path}.bad`, 'utf8'));
});

t.test('a flood of connections that never log in is bounded', async (t) => {
  const { server, log } = await start(t.testdir({}));
  t.teardown(() => server.stop());
  const flood: Socket[] = [];
  const closedEarly: Promise<unknown>[] = [];
  for (let i = 0; i < 25; i++) {
    const socket = connect(server.port!, '127.0.0.1').on('error', () => {});
    flood.push(socket);
    closedEarly.push(once(socket, 'close'));
  }
  // The 15 beyond the first 10 are closed by the server straight away.
  const settled = await Promise.race([Promise.all(closedEarly.slice(10)), new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
  t.not(settled, 'timeout', 'connections beyond the bound are closed at once');
  t.match(log.lines.join('\n'), /warn: 127\.0\.0\.1: refused, 10 connections are already logging in/);
  t.equal(log.lines.filter((l) => l.includes('refused')).length, 1, 'one line for the flood, not one per connection');
  // The admitted ones still get the server's hello.
  const [hello] = (await once(flood[0], 'data')) as [Buffer];
  t.match(hello.toString(), /^SSH-2\.0-NodeOS/);
  for (const socket of flood) socket.destroy();
});
