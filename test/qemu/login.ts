// Logging in, on two consoles at once (the guest's serial ttyS0 on QEMU's
// stdio and its virtio console hvc0 on a socket): `login:` on both; alice in her own session (her uid,
// her view, no power control), logging out ends what she left running and
// gives the terminal back; wrong passwords refused and counted, a user locked
// after five; passwd() changes a password; root gets the admin REPL and powers
// off. Passwords are set with `nodeos users-image --password`, from stdin.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { bootGuest } from '../../build/qemu';
import { ROOT } from '../../build/paths';
import type { Session } from '../../build/session';
import { BOOT_MS } from '../fixtures/users-checks';
import { socketSession } from '../fixtures/console-socket';

const manifest = join(ROOT, 'out', 'x64', 'manifest.json');
const PASSWORDS = { root: 'root-secret-1', alice: 'alice-secret-1', bob: 'bob-secret-12' };
const LOGIN = 'box login: ';

/** At a login: prompt (already seen), a name and a password. */
async function logIn(session: Session, name: string, password: string) {
  session.send(`${name}\r`);
  await session.expect('Password: ', 30_000);
  session.send(`${password}\r`);
}

t.test('console login', async (t) => {
  const dir = t.testdir({});
  const tree = join(dir, 'tree');
  for (const name of ['root', 'alice', 'bob', 'carol']) mkdirSync(join(tree, name), { recursive: true });
  // carol's passwd is readable by others: she cannot log in, and says why in the log.
  mkdirSync(join(tree, 'carol', '.nodeos'));
  writeFileSync(join(tree, 'carol', '.nodeos', 'passwd'), '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n');
  chmodSync(join(tree, 'carol', '.nodeos', 'passwd'), 0o644);
  const image = join(dir, 'users.img');
  const made = spawnSync(
    process.execPath,
    [join(ROOT, 'bin', 'nodeos.js'), 'users-image', tree, image, '--size', '64M', '--owner', 'alice=1001:1001', '--owner', 'bob=1002:1002', '--owner', 'carol=1003:1003', '--password', 'root', '--password', 'alice', '--password', 'bob'],
    { input: `${PASSWORDS.root}\n${PASSWORDS.alice}\n${PASSWORDS.bob}\n`, encoding: 'utf8' },
  );
  t.equal(made.status, 0, `users-image --password: ${made.stderr}`);
  const stored = spawnSync('debugfs', ['-R', 'stat /alice/.nodeos/passwd', image], { encoding: 'utf8' }).stdout;
  t.match(stored, /Mode:\s+0600/, "alice's passwd is mode 600");
  t.match(stored, /User:\s+1001\s+Group:\s+1001/, 'and hers');
  const hash = spawnSync('debugfs', ['-R', 'cat /alice/.nodeos/passwd', image], { encoding: 'utf8' }).stdout;
  t.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$/, 'a scrypt hash');
  t.notMatch(hash, PASSWORDS.alice, 'never the password');

  const socket = join(dir, 'hvc0.sock');
  const guest = bootGuest(manifest, { users: image, virtioConsole: socket, append: 'console=hvc0 console=ttyS0 nodeos.hostname=box' });
  t.teardown(() => guest.child.kill('SIGKILL'));
  const second = await socketSession(socket);
  t.teardown(() => second.close());

  // Both consoles offer a login, with the hostname and version in the banner.
  await guest.expect(LOGIN, BOOT_MS);
  await second.expect(/NodeOS \S+ on box \(hvc0\)[^]*box login: /, BOOT_MS);
  t.match(guest.output, /NodeOS \S+ on box \(ttyS0\)\s+SSH host key: SHA256:[\w+/]{43} \(ED25519\)/, "the banner shows the SSH host key's fingerprint");
  t.match(guest.output, /carol cannot log in by password: .*readable or writable by others \(mode 644; chmod 600\)/, "carol's broken passwd: one clear line");

  // Wrong passwords: refused, the same answer as for a name that does not exist, counted per user.
  for (const [session, name] of [[second, 'bob'], [guest, 'bob'], [second, 'nobody']] as const) {
    await logIn(session, name, 'wrong password');
    await session.expect('Login incorrect', 60_000);
    await session.expect(LOGIN, 60_000);
  }
  t.match(guest.output, /login failed on hvc0 for bob/);
  t.match(guest.output, /login failed on ttyS0 for bob/);
  t.match(guest.output, /login failed on hvc0 for an unknown name/);
  t.notMatch(guest.output, /nobody/, 'names that are not users are not logged');
  for (const session of [guest, second, guest]) {
    await logIn(session, 'bob', 'wrong again');
    await session.expect('Login incorrect', 60_000);
    await session.expect(LOGIN, 60_000);
  }
  await guest.seen('bob: locked after repeated failed logins', 30_000);
  await logIn(second, 'bob', PASSWORDS.bob);
  await second.expect('Login incorrect', 60_000);
  await second.expect(LOGIN, 60_000);
  await guest.seen(/login refused on hvc0: bob is locked for \d+ s more/, 30_000);

  // alice logs in on hvc0: her own session.
  await logIn(second, 'alice', PASSWORDS.alice);
  await second.expect('alice@box> ', 60_000);
  t.match(guest.output, /alice logged in on hvc0/);
  t.same(await second.value('[process.getuid(), process.getgid(), process.getgroups()]'), [1001, 1001, [1001]], 'her uid and gid, no other groups (getgroups lists the gid itself)');
  t.same(await second.value("[process.env.HOME, process.env.USER, process.cwd(), fs.readdirSync('/home')]"), ['/home/alice', 'alice', '/home/alice', ['alice']], 'at home, seeing only her home');
  t.equal(await second.value("fs.readFileSync('/proc/self/status', 'utf8').match(/NoNewPrivs:\\s*(\\d)/)[1]"), '1', 'no new privileges');
  t.match(await second.value("fs.readFileSync('/proc/self/cgroup', 'utf8').trim()"), /^0::\/users\/alice\/console-hvc0$/, 'in a cgroup of her own, under her limits');
  t.equal(await second.value('typeof poweroff'), 'undefined', 'no power control');
  second.send('.poweroff\r');
  await second.expect(/Invalid REPL keyword/, 30_000);
  // Something she leaves running ends with her session.
  const pid = await second.value<number>("child_process.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' }).pid");

  // passwd(): the current password, then the new one twice.
  second.send('await passwd()\r');
  await second.expect('Current password: ', 30_000);
  second.send(`${PASSWORDS.alice}\r`);
  await second.expect('New password: ', 60_000);
  second.send('alice-new-secret\r');
  await second.expect('Again: ', 30_000);
  second.send('alice-new-secret\r');
  await second.expect("'passwd: password changed'", 60_000);
  t.notMatch(second.output, /alice-new-secret/, 'what was typed was not echoed');

  second.send('.exit\r');
  await second.expect(LOGIN, 60_000);
  await guest.seen('alice logged out of hvc0', 30_000);

  // root on ttyS0: the admin REPL, where alice's leftovers are gone and her terminal is root's again.
  await logIn(guest, 'root', PASSWORDS.root);
  await guest.expect('nodeos> ', 60_000);
  t.equal(await guest.value(`fs.existsSync('/proc/${pid}')`), false, "alice's background process ended with her session");
  t.same(await guest.value("(({ uid, mode }) => [uid, (mode & 0o777).toString(8)])(fs.statSync('/dev/hvc0'))"), [0, '600'], 'the terminal is root\'s again');
  t.equal(await guest.value('users().length'), 0, 'no user has an init here');

  // alice's new password works, the old one not.
  await logIn(second, 'alice', PASSWORDS.alice);
  await second.expect('Login incorrect', 60_000);
  await second.expect(LOGIN, 60_000);
  await logIn(second, 'alice', 'alice-new-secret');
  await second.expect('alice@box> ', 60_000);
  second.send('.exit\r');
  await second.expect(LOGIN, 60_000);

  guest.send('.poweroff\r');
  await guest.expect('calling reboot(2) for poweroff', 120_000);
  t.same(await guest.exited, { code: 0, signal: null }, 'root powers off from the console');
  t.notMatch(guest.output, /Kernel panic/);
});
