// Logs that survive: PID 1's log file rotated by size under a cap, the files
// logs() and `nodeos logs` read (oldest first), and reading them back out of
// an ext4 image and a partitioned disk on the host.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { DIST } from '../../build/paths';
import { LOG_MAX_ENV, RotatingLog } from '../../src/log-writer';
import { join } from 'node:path';
import { lastLines, logFiles, readLogs } from '../../src/log-files';
import { logger, logToConsoles, logToFile } from '../../src/log';
import { imageLogs } from '../../build/logs';
import { buildUsersImage } from '../../build/users-image';
import { assembleDisk, MiB } from '../../build/disk';
import { memoryLog } from '../fixtures/fake-sys';

t.test("PID 1's log file: rotated by size, never more than its files", async (t) => {
  const root = t.testdir();
  const dir = join(root, '.nodeos', 'log');
  logToConsoles(() => []);
  logToFile(memoryLog(), { dir, file: 'nodeos.log', maxBytes: 4096, files: 3 });
  const log = logger('flood');
  for (let i = 0; i < 400; i++) log.info(`line ${i} ${'x'.repeat(60)}`);
  const files = readdirSync(dir).sort();
  t.same(files, ['nodeos.log', 'nodeos1.log', 'nodeos2.log'], 'three files, the oldest dropped');
  t.ok(files.every((f) => statSync(join(dir, f)).size <= 4096), 'each within its size limit');
  t.match(readLogs(undefined, 1000, root), /line 3\d\d x+\n$/, 'nothing lost in the burst: the newest files hold the last lines');
  t.equal(readLogs(undefined, 1000, root).split('\n').filter(Boolean).length, readLogs(undefined, 1000, root).split('\n').filter(Boolean).map((l) => Number(/line (\d+)/.exec(l)![1])).reduce((n, v, i, all) => (i === 0 || v === all[i - 1] + 1 ? n + 1 : n), 0), 'consecutive lines, none missing');
  t.equal(statSync(dir).mode & 0o777, 0o700, 'root only');
  const newest = readLogs(undefined, 1, root);
  t.match(newest, /^\d{4}-\d\d-\d\dT[\d:.]+Z info nodeos: flood: line 399 x+\n$/, 'the newest line last, timestamped');
});

t.test('which files, oldest first; the last lines of them', async (t) => {
  t.same(logFiles(), ['.nodeos/log/nodeos4.log', '.nodeos/log/nodeos3.log', '.nodeos/log/nodeos2.log', '.nodeos/log/nodeos1.log', '.nodeos/log/nodeos.log']);
  t.same(logFiles('alice'), ['alice/.nodeos/log/init.log.1', 'alice/.nodeos/log/init.log']);
  t.throws(() => logFiles('../etc'), /is not a user/);
  t.throws(() => logFiles('.nodeos'), /is not a user/);
  t.equal(lastLines(['a\nb\n', 'c\nd\n'], 3), 'b\nc\nd\n');
});

t.test('nodeos logs: out of a users image, and out of a whole disk', async (t) => {
  const dir = t.testdir({ tree: { alice: { '.nodeos': { log: { 'init.log.1': 'old 1\nold 2\n', 'init.log': 'new 1\nnew 2\n' } } }, '.nodeos': { log: { 'nodeos.log': 'pid 1 was here\n' } } } });
  const image = join(dir, 'users.img');
  buildUsersImage(join(dir, 'tree'), image, { size: '8M', label: 'nodeos-users', owners: {} });
  t.equal(imageLogs(image, 'alice', 3), 'old 2\nnew 1\nnew 2\n');
  t.equal(imageLogs(image, undefined, 10), 'pid 1 was here\n');
  t.throws(() => imageLogs(image, 'bob', 10), /nothing logged by bob/);

  const disk = join(dir, 'disk.img');
  assembleDisk(disk, 16 * MiB, 'label: dos\nstart=2048, size=4096, type=c\nstart=6144, size=16384, type=83\n', [{ image, offset: 3 * MiB }]);
  t.equal(imageLogs(disk, 'alice', 1), 'new 2\n', 'found in the Linux partition');
  writeFileSync(join(dir, 'junk.img'), Buffer.alloc(MiB));
  t.throws(() => imageLogs(join(dir, 'junk.img'), undefined, 1), /dumpe2fs.*Bad magic number/s, 'not a filesystem: said so');
});

t.test("a user's log writer: everything the init writes, in at most two files of the cap, ending with its input", async (t) => {
  const home = t.testdir();
  const writer = spawn(process.execPath, [join(DIST, 'log-writer.js')], { env: { HOME: home, [LOG_MAX_ENV]: '10000' }, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  writer.stderr!.on('data', (d) => (stderr += d));
  const lines = Array.from({ length: 3000 }, (_, i) => `line ${i}\n`);
  for (const chunk of [lines.slice(0, 1000).join(''), lines.slice(1000).join(''), `${'z'.repeat(6000)}\n`]) writer.stdin!.write(chunk);
  writer.stdin!.end();
  t.same(await new Promise((resolve) => writer.on('exit', (code) => resolve(code))), 0, `exits at the end of its input${stderr ? `: ${stderr}` : ''}`);
  const dir = join(home, '.nodeos', 'log');
  t.same(readdirSync(dir).sort(), ['init.log', 'init.log.1']);
  for (const file of ['init.log', 'init.log.1']) t.ok(statSync(join(dir, file)).size <= 10000, `${file} within the cap`);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, 'init.log')).mode & 0o777, 0o600);
  const log = readFileSync(join(dir, 'init.log.1'), 'utf8') + readFileSync(join(dir, 'init.log'), 'utf8');
  t.ok(log.endsWith(`line 2999\n${'z'.repeat(6000)}\n`), 'the newest lines are kept, in order');
  t.ok(log.length >= 10000 && log.length <= 20000, 'two files\' worth at most');
});

t.test('RotatingLog: never through a symlink', async (t) => {
  const dir = t.testdir({ target: 'keep\n' });
  const { symlinkSync } = await import('node:fs');
  symlinkSync(join(dir, 'target'), join(dir, 'init.log'));
  t.throws(() => new RotatingLog(join(dir, 'init.log'), 1000), { code: 'ELOOP' });
});
