// Our SFTP server against OpenSSH's own sftp client (`sftp -D` talks to a
// local server program directly): what a user copying an app in does.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SftpServer, STATUS, TYPE } from '../../src/ssh/sftp-server';
import { ROOT } from '../../build/paths';

const server = join(ROOT, 'dist', 'sftp-server.js');

t.test('OpenSSH sftp: put, ls, mkdir, rename, get, chmod, rm, rmdir', async (t) => {
  const dir = t.testdir({ home: { 'old.txt': 'already here\n' }, local: { 'app.js': 'console.log("hi")\n' } });
  const [home, local] = [join(dir, 'home'), join(dir, 'local')];
  const batch = [
    'pwd',
    `put ${join(local, 'app.js')} app.js`,
    'mkdir lib',
    'rename app.js lib/app.js',
    'chmod 700 lib/app.js',
    'ls -l lib',
    `get old.txt ${join(local, 'old.txt')}`,
    'rm old.txt',
    `put ${join(local, 'app.js')} lib/copy.js`,
    'rm lib/copy.js',
    'mkdir gone',
    'rmdir gone',
    'ls',
  ].join('\n');
  const run = spawnSync('sftp', ['-b', '-', '-D', `${process.execPath} ${server}`], { cwd: home, input: batch, encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, `Remote working directory: ${home}`);
  t.match(run.stdout, /-rwx------ 1 \d+ \d+ +18 .* app\.js/);
  t.equal(readFileSync(join(home, 'lib', 'app.js'), 'utf8'), 'console.log("hi")\n');
  t.equal(statSync(join(home, 'lib', 'app.js')).mode & 0o777, 0o700);
  t.equal(readFileSync(join(local, 'old.txt'), 'utf8'), 'already here\n');
  t.throws(() => statSync(join(home, 'old.txt')));
  t.throws(() => statSync(join(home, 'gone')));
  const fails = spawnSync('sftp', ['-b', '-', '-D', `${process.execPath} ${server}`], { cwd: home, input: 'get missing.txt /dev/null\n', encoding: 'utf8' });
  t.not(fails.status, 0, 'a missing file is an error the client reports');
  t.match(fails.stderr, /No such file|not found/i);
});

t.test('bad requests get a status, not a crash', async (t) => {
  const home = t.testdir({});
  writeFileSync(join(home, 'f'), 'x');
  const sftp = new SftpServer(home);
  const status = (reply: Buffer) => [reply[0], reply.readUInt32BE(5)];
  t.same(sftp.handle(Buffer.from([TYPE.INIT, 0, 0, 0, 3])), Buffer.from([TYPE.VERSION, 0, 0, 0, 3]));
  t.same(status(sftp.handle(Buffer.from([TYPE.OPEN, 0, 0, 0, 7, 0, 0, 0, 10, 0x66]))), [TYPE.STATUS, STATUS.BAD_MESSAGE], 'a name longer than the packet');
  t.same(status(sftp.handle(Buffer.from([TYPE.CLOSE, 0, 0, 0, 8, 0, 0, 0, 1, 0x39]))), [TYPE.STATUS, STATUS.FAILURE], 'an unknown handle');
  t.same(status(sftp.handle(Buffer.from([99, 0, 0, 0, 9]))), [TYPE.STATUS, STATUS.OP_UNSUPPORTED]);
});
