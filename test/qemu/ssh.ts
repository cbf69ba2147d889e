// SSH from the host (Debian's openssh-client) into a guest, through QEMU's
// port forward on the host's loopback: alice's key logs her in as alice (her
// uid, home, view), bob's key cannot, passwords are refused by default; a
// command's output, errors and exit code come back; a REPL on a pty; sftp
// put; a flood of connections leaves the console answering; after a reboot
// the file is still there and the host key is the same. Until someone
// connects, PID 1 has not loaded node:crypto, the key made or read.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { bootGuest } from '../../build/qemu';
import { ROOT } from '../../build/paths';
import { buildUsersImage } from '../../build/users-image';
import { freePort } from '../fixtures/ports';
import { BOOT_MS, powerOff } from '../fixtures/users-checks';

const manifest = join(ROOT, 'out', 'x64', 'manifest.json');


/** Runs a command to completion without blocking the event loop (QEMU's console keeps being read). */
function run(command: string, args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

t.test('ssh and sftp into NodeOS', async (t) => {
  const dir = t.testdir({});
  const keys = join(dir, 'keys');
  mkdirSync(keys);
  for (const name of ['alice', 'bob']) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@host`, '-f', join(keys, name)]);
  const tree = join(dir, 'tree');
  for (const name of ['alice', 'bob']) {
    mkdirSync(join(tree, name, '.ssh'), { recursive: true });
    writeFileSync(join(tree, name, '.ssh', 'authorized_keys'), `# ${name}'s laptop\n${readFileSync(join(keys, `${name}.pub`), 'utf8')}`);
    // bob's file is writable by his group: anyone in it could add a key, so it is not trusted.
    chmodSync(join(tree, name, '.ssh', 'authorized_keys'), name === 'bob' ? 0o664 : 0o600);
  }
  const image = join(dir, 'users.img');
  buildUsersImage(tree, image, { size: '64M', label: 'nodeos-users', owners: { alice: { uid: 1001, gid: 1001 }, bob: { uid: 1002, gid: 1002 } } });
  const port = await freePort();
  const knownHosts = join(dir, 'known_hosts');
  const options = (key: string) => ['-i', join(keys, key), '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=60'];
  const ssh = (key: string, ...args: string[]) => [...options(key), '-p', String(port), ...args];
  const sftp = (key: string, batch: string) => run('sftp', ['-b', '-', ...options(key), '-P', String(port), 'alice@127.0.0.1'], batch);

  // The console's REPL, loaded at the first key the test types, brings node:crypto itself (node's REPL does): it must
  // come after node:repl, not with the host key before it.
  const loadOrder = "['crypto', 'repl'].map((m) => process.moduleLoadList.indexOf('NativeModule ' + m))";
  const boot = async () => {
    const guest = bootGuest(manifest, { users: image, forwards: [`${port}:22`] });
    t.teardown(() => guest.child.kill('SIGKILL'));
    await guest.expect('nodeos> ', BOOT_MS);
    await guest.seen('ssh: listening on port 22', BOOT_MS);
    await guest.seen(/eth0: bound/, BOOT_MS);
    const [crypto, repl] = await guest.value<[number, number]>(loadOrder);
    t.ok(repl >= 0 && (crypto === -1 || crypto > repl), `PID 1 made or read its host key without node:crypto (loaded: ${crypto}, node:repl: ${repl})`);
    return guest;
  };

  let guest = await boot();
  const fingerprint = /ssh: made a host key: (SHA256:\S+) \(ED25519\)/.exec(guest.output)?.[1];
  t.ok(fingerprint, 'a host key is made at the first boot');

  // A command as alice: who she is, where, what she sees; stdout, stderr and the exit code come back.
  const who = await run('ssh', ssh('alice', '-o', 'StrictHostKeyChecking=accept-new', 'alice@127.0.0.1', `node -e "const fs = require('fs'); console.log(process.getuid(), process.getgid(), process.env.HOME, process.cwd(), fs.readdirSync('/home').join(), fs.readFileSync('/proc/self/cgroup', 'utf8').trim())"`));
  t.equal(who.status, 0, who.stderr);
  t.match(who.stdout.trim(), /^1001 1001 \/home\/alice \/home\/alice alice 0::\/users\/alice\/ssh-\d+$/, 'alice is alice, at home, seeing only her home, in a cgroup under hers');
  t.match(spawnSync('ssh-keygen', ['-l', '-f', knownHosts], { encoding: 'utf8' }).stdout, fingerprint!, 'the client saw the host key the log names');
  const failing = await run('ssh', ssh('alice', 'alice@127.0.0.1', `node -e "console.error('oops'); process.exit(3)"`));
  t.equal(failing.status, 3, 'the exit code comes back');
  t.match(failing.stderr, /oops/, 'and the errors, apart');
  t.match(guest.output, /alice logged in from 10\.0\.2\.2 \(publickey for alice\)/);

  // Other keys, and passwords, do not get in.
  const wrongKey = await run('ssh', ssh('bob', 'alice@127.0.0.1', 'true'));
  t.equal(wrongKey.status, 255, "bob's key cannot log in as alice");
  t.match(wrongKey.stderr, /Permission denied \(publickey\)/, 'only keys are offered');
  const bob = await run('ssh', ssh('bob', 'bob@127.0.0.1', 'true'));
  t.equal(bob.status, 255, 'an authorized_keys file others may write lets no one in');
  await guest.seen(/bob cannot log in by key: \/home\/bob\/\.ssh\/authorized_keys: writable by others \(mode 664\)/, 30_000);
  const password = await run('ssh', ssh('alice', '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password', 'alice@127.0.0.1', 'true'));
  t.equal(password.status, 255, 'password logins are refused by default');
  await guest.seen(/10\.0\.2\.2: closed without logging in \(tried publickey for alice\)/, 30_000);

  // A REPL on a pseudo-terminal.
  const shell = spawn('ssh', ssh('alice', '-tt', 'alice@127.0.0.1'), { stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  shell.stdout.on('data', (d) => (screen += d));
  const waitFor = async (text: string) => {
    for (let i = 0; i < 600 && !screen.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
    return screen.includes(text);
  };
  t.ok(await waitFor('alice@nodeos> '), 'the REPL prompt');
  shell.stdin.write("[process.getuid(), require('tty').isatty(0), process.env.TERM].join(' ')\r");
  t.ok(await waitFor("'1001 true "), 'as alice, on a terminal');
  shell.stdin.write('.exit\r');
  t.equal(await new Promise((r) => shell.on('close', r)), 0, '.exit ends the session');

  // sftp put into her home.
  writeFileSync(join(dir, 'up.txt'), 'copied in\n');
  const put = await sftp('alice', `put ${join(dir, 'up.txt')} app/up.txt\n`);
  t.not(put.status, 0, 'into a folder that is not there: refused');
  const mkdirPut = await sftp('alice', `mkdir app\nput ${join(dir, 'up.txt')} app/up.txt\nls -l app\n`);
  t.equal(mkdirPut.status, 0, mkdirPut.stderr);
  t.match(mkdirPut.stdout, /-rw-r--r-- 1 1001 1001 +10 .* up\.txt/, 'the file is hers');

  // A flood of connections that never log in (their bound is the unit tier's): the console still answers.
  const flood: Socket[] = [];
  for (let i = 0; i < 30; i++) flood.push(connect(port, '127.0.0.1').on('error', () => {}));
  await guest.seen(/ssh: 10\.0\.2\.2: did not log in within 30 s/, 120_000);
  t.equal(await guest.value('1 + 1'), 2, 'PID 1 still answers during the flood');
  for (const socket of flood) socket.destroy();

  await powerOff(t, guest);
  guest = await boot();
  t.notMatch(guest.output, /made a host key/, 'the second boot keeps the key');
  const after = await run('ssh', ssh('alice', '-o', 'StrictHostKeyChecking=yes', 'alice@127.0.0.1', `node -e "process.stdout.write(require('fs').readFileSync('app/up.txt', 'utf8'))"`));
  t.equal(after.status, 0, `the host key is the one the client knows: ${after.stderr}`);
  t.equal(after.stdout, 'copied in\n', 'the copied file survived the reboot');
  await powerOff(t, guest);
});
