// Login's pure parts: the passwd file and its hashes, and the guard against guessing.
import t from 'tap';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DECOY, formatPasswordHash, hashPassword, parsePasswordHash, readUserPassword, verifyPassword } from '../../src/passwd';
import { LoginGuard } from '../../src/login-guard';
import { consoleMode } from '../../src/console-sessions';
import { memoryLog } from '../fixtures/fake-sys';

const CHEAP = { ln: 10, r: 8, p: 1 }; // the format's floor, to keep the tests quick

t.test('a hash is salted scrypt in PHC format and verifies only its password', async (t) => {
  const line = await hashPassword('correct horse', CHEAP);
  t.match(line, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=\n$/);
  t.notMatch(line, /correct horse/);
  const stored = parsePasswordHash(line);
  t.ok(await verifyPassword(stored, 'correct horse'));
  t.notOk(await verifyPassword(stored, 'correct horse '));
  t.notOk(await verifyPassword(stored, ''));
  t.not(await hashPassword('correct horse', CHEAP), line, 'a new salt each time');
  t.equal(formatPasswordHash(stored), line, 'parse and format round-trip');
  t.notOk(await verifyPassword(DECOY, ''), 'the decoy matches nothing');
});

t.test('the default cost is the one written', async (t) => {
  t.match(await hashPassword('x'), /^\$scrypt\$ln=15,r=8,p=1\$/);
});

t.test('malformed passwd files are refused, saying why', async (t) => {
  const salt = Buffer.alloc(16, 7).toString('base64');
  const hash = Buffer.alloc(32, 9).toString('base64');
  t.throws(() => parsePasswordHash(''), /expected one line, found 0/);
  t.throws(() => parsePasswordHash(`$scrypt$ln=15,r=8,p=1$${salt}$${hash}\n$scrypt$ln=15,r=8,p=1$${salt}$${hash}\n`), /found 2/);
  t.throws(() => parsePasswordHash('hunter2\n'), /not a \$scrypt/, 'a plain-text password is not a hash');
  t.throws(() => parsePasswordHash(`$sha1$${salt}$${hash}`), /not a \$scrypt/);
  t.throws(() => parsePasswordHash(`$scrypt$ln=30,r=8,p=1$${salt}$${hash}`), /out of range/, 'a planted file cannot ask for gigabytes');
  t.throws(() => parsePasswordHash(`$scrypt$ln=4,r=8,p=1$${salt}$${hash}`), /out of range/, 'nor for a cost too low to matter');
  t.throws(() => parsePasswordHash(`$scrypt$ln=15,r=8,p=1$AAAA$${hash}`), /too short/);
  t.same(parsePasswordHash(`\n$scrypt$ln=15,r=8,p=1$${salt}$${hash}\n\n`).ln, 15, 'blank lines around are fine');
});

t.test("the file must be the user's own and closed to others", async (t) => {
  const home = t.testdir({ '.nodeos': {} });
  const file = join(home, '.nodeos', 'passwd');
  t.equal(readUserPassword(home, 0), undefined, 'no file: no password');
  writeFileSync(file, await hashPassword('pw', CHEAP), { mode: 0o600 });
  chownSync(file, 1000, 1000);
  t.equal(readUserPassword(home, 1000)?.ln, 10);
  t.throws(() => readUserPassword(home, 1001), /belongs to uid 1000, not 1001/);
  chmodSync(file, 0o640);
  t.throws(() => readUserPassword(home, 1000), /readable or writable by others \(mode 640; chmod 600\)/);
  chmodSync(file, 0o600);
  writeFileSync(file, 'garbage\n');
  t.throws(() => readUserPassword(home, 1000), /passwd: not a \$scrypt/);

  const other = t.testdir({ '.nodeos': {}, target: 'x' });
  symlinkSync(join(other, 'target'), join(other, '.nodeos', 'passwd'));
  t.throws(() => readUserPassword(other, 0), /not a regular file/, 'a symlink is refused');
  mkdirSync(join(other, 'dir', '.nodeos', 'passwd'), { recursive: true });
  t.throws(() => readUserPassword(join(other, 'dir'), 0), /not a regular file/);
});

t.test('guessing: each failure makes its source wait longer; five in a row lock the user', async (t) => {
  let now = 0;
  const guard = new LoginGuard(() => now);
  t.same(guard.check('alice', 'ttyS0'), { allowed: true });
  t.same(guard.failed('alice', 'ttyS0'), { delayMs: 1000, locked: false });
  t.same(guard.check('alice', 'ttyS0'), { allowed: false, reason: 'wait', retryInMs: 1000 });
  t.same(guard.check('alice', 'tty1'), { allowed: true }, 'another console is not slowed');
  now = 1000;
  t.same(guard.failed('alice', 'ttyS0').delayMs, 2000, 'doubling');
  now = 3000;
  t.same(guard.failed('alice', 'ttyS0').delayMs, 4000);
  now = 7000;
  t.same(guard.failed('alice', 'tty1'), { delayMs: 1000, locked: false });
  now = 8000;
  t.same(guard.failed('alice', 'tty1'), { delayMs: 2000, locked: true }, 'the fifth failure in a row, from any console, locks');
  now = 20_000;
  t.same(guard.check('alice', 'tty2'), { allowed: false, reason: 'locked', retryInMs: 8000 + 300_000 - 20_000 });
  t.same(guard.check('bob', 'tty2'), { allowed: true }, 'other users are not locked');
  now = 8000 + 300_000;
  t.same(guard.check('alice', 'tty2'), { allowed: true }, 'the lock ends');
  guard.failed('alice', 'tty2');
  now += 1000;
  guard.succeeded('alice', 'tty2');
  t.same(guard.check('alice', 'tty2'), { allowed: true }, 'success clears the counts');
  for (let i = 0; i < 10; i++) guard.failed('x', 'ssh 10.0.0.1');
  t.same(guard.check('y', 'ssh 10.0.0.1'), { allowed: false, reason: 'wait', retryInMs: 30_000 }, 'the wait stops growing at 30 s');
  for (let i = 0; i < 2000; i++) guard.failed(`guess${i}`, `ssh 10.1.${i >> 8}.${i & 255}`);
  t.same(guard.check('y', 'ssh 10.0.0.1'), { allowed: true }, 'a flood of sources is remembered only so far: the oldest are forgotten');
  t.same(guard.check('y', 'ssh 10.1.7.207'), { allowed: false, reason: 'wait', retryInMs: 1000 }, 'the newest are still slowed');
});

t.test('what the consoles offer', async (t) => {
  const homes = t.testdir({ alice: {}, bob: {} });
  const auth = (withPassword: string[]) => ({ account: () => undefined, authenticate: async () => undefined, anyPassword: (names: readonly string[]) => names.some((n) => withPassword.includes(n)) });
  const tty = { name: 'ttyS0', device: '/dev/ttyS0' } as never;
  const stdio = { name: 'console' } as never;
  const log = memoryLog();
  t.equal(consoleMode({ console: 'auto' }, [tty], auth(['bob']), log, homes), 'login', 'someone has a password: login');
  t.equal(consoleMode({ console: 'auto' }, [tty], auth([]), log, homes), 'repl', 'no one has: root\'s REPL, to set the machine up');
  t.match(log.lines.at(-1), /no user has a password yet/);
  t.equal(consoleMode({ console: 'login' }, [tty], auth([]), log, homes), 'login', 'login insists');
  t.equal(consoleMode({ console: 'repl' }, [tty], auth(['bob']), log, homes), 'repl');
  t.equal(consoleMode({ console: 'login' }, [tty], undefined, log, homes), 'repl', 'no users partition: the REPL');
  t.equal(consoleMode({ console: 'login' }, [stdio], auth(['bob']), log, homes), 'repl', 'our stdio is no terminal to log in on');
  t.match(log.lines.at(-1), /login needs console devices/);
});

t.test('an appliance shows its dashboard; any machine can be asked to', async (t) => {
  const dir = t.testdir({ appliance: { app: {}, '.nodeos': { 'app.json': '{"name":"hello"}' } }, plain: { alice: {} } });
  const [homes, plain] = [`${dir}/appliance`, `${dir}/plain`];
  const auth = { account: () => undefined, authenticate: async () => undefined, anyPassword: () => false };
  const tty = { name: 'ttyS0', device: '/dev/ttyS0' } as never;
  const log = memoryLog();
  t.equal(consoleMode({ console: 'auto' }, [tty], auth, log, homes), 'dashboard', 'build --app left its marker');
  t.equal(consoleMode({ console: 'dashboard' }, [tty], auth, log, plain), 'dashboard');
  t.equal(consoleMode({ console: 'auto' }, [tty], auth, log, plain), 'repl');
  t.equal(consoleMode({ console: 'repl' }, [tty], auth, log, homes), 'repl', 'the command line wins');
  t.equal(consoleMode({ console: 'dashboard' }, [tty], undefined, log, homes), 'repl', 'no users partition, nothing to show');
});
