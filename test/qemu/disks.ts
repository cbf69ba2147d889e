// The users partition through what disks go through: a power cut in the
// middle of a user's write+fsync loop, damage that e2fsck -p cannot fix, and
// a write-protected disk. Four boots of one image; nothing synced is lost and
// nothing is ever formatted.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootGuest } from '../../build/qemu';
import { ROOT } from '../../build/paths';
import { buildUsersImage } from '../../build/users-image';
import { BOOT_MS, powerOff, until } from '../fixtures/users-checks';

const manifest = join(ROOT, 'out', 'x64', 'manifest.json');

// Appends a numbered line, fsyncs, and only then says so on stdout (its init.log, which the test reads).
const WRITER = `#!/bin/node
const fs = require('fs');
const fd = fs.openSync(process.env.HOME + '/data', 'a');
let i = 0;
setInterval(() => {
  fs.writeSync(fd, 'line ' + i + '\\n');
  fs.fsyncSync(fd);
  console.log('synced ' + i++);
}, 20);
`;

const lines = (text: string) => text.split('\n');

t.test('power cut, damage, write protection', async (t) => {
  const dir = t.testdir({ tree: {} });
  const home = join(dir, 'tree', 'writer');
  mkdirSync(join(home, 'stuff', 'deep'), { recursive: true });
  writeFileSync(join(home, 'init'), WRITER, { mode: 0o755 });
  writeFileSync(join(home, 'stuff', 'deep', 'note'), 'a note\n');
  const image = join(dir, 'users.img');
  buildUsersImage(join(dir, 'tree'), image, { size: '64M', label: 'nodeos-users', owners: { writer: { uid: 1000, gid: 1000 } } });

  // 1. The power goes while writer writes and fsyncs.
  const first = bootGuest(manifest, { users: image });
  t.teardown(() => first.child.kill('SIGKILL'));
  await first.expect('/dev/vda: checked, clean', BOOT_MS);
  await first.expect('nodeos> ', BOOT_MS);
  const synced = await until<number>(first, "(() => { const m = [...fs.readFileSync('/home/writer/.nodeos/log/init.log', 'utf8').matchAll(/synced (\\d+)\\n/g)]; return m.length >= 30 && Number(m.at(-1)[1]); })()");
  first.child.kill('SIGKILL'); // no shutdown, no sync, no unmount
  await first.exited;
  t.match(execFileSync('dumpe2fs', ['-h', image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), /features:.*needs_recovery/, 'the image was left mid-write (its journal to replay)');

  // 2. The next boot: the journal is replayed before the mount, the users start, everything fsynced is there.
  const second = bootGuest(manifest, { users: image });
  t.teardown(() => second.child.kill('SIGKILL'));
  await second.expect(/\/dev\/vda: (checked, clean|e2fsck repaired it): .*recovering journal/, BOOT_MS);
  await second.expect('users: writer: started', BOOT_MS);
  await second.expect('nodeos> ', BOOT_MS);
  const data = lines(await second.value<string>("fs.readFileSync('/home/writer/data', 'utf8')"));
  t.same(data.slice(0, synced + 1), Array.from({ length: synced + 1 }, (_, i) => `line ${i}`), `lines 0 to ${synced}, fsynced before the power cut, are intact`);
  t.notMatch(second.output, /mke2fs|formatting/i, 'nothing was formatted');
  t.match(await second.value("fs.readFileSync('/proc/mounts', 'utf8').split('\\n').find((l) => l.split(' ')[1] === '/home')"), /ext4 rw,nosuid,nodev,relatime,(?=.*\busrquota\b)(?=.*\berrors=remount-ro\b)/, 'mounted errors=remount-ro, with quotas');
  t.notMatch(second.output, /ssh: not started|host key was unreadable/, 'the SSH host key, written at the first boot, survived the power cut');
  await powerOff(t, second);

  // 3. Damage preen must not touch: the partition stays unmounted, the console says what to run, and that repairs it.
  execFileSync('debugfs', ['-w', '-f', '-', image], { input: 'clri /writer/stuff\nssv state 2\n', stdio: ['pipe', 'ignore', 'ignore'] });
  const third = bootGuest(manifest, { users: image });
  t.teardown(() => third.child.kill('SIGKILL'));
  await third.expect("/dev/vda: errors e2fsck -p cannot fix", BOOT_MS);
  await third.expect("in the REPL run fsck('/dev/vda')", BOOT_MS);
  await third.expect('staying in the initramfs (ephemeral)', BOOT_MS);
  await third.expect('nodeos> ', BOOT_MS);
  t.notMatch(third.output, /users: writer: started/, 'no user started on a damaged partition');
  third.send("fsck('/dev/vda')\n");
  await third.expect(/e2fsck exit 1: repaired/, BOOT_MS);
  t.match(third.output, /FILE SYSTEM WAS MODIFIED/);
  await powerOff(t, third);
  t.equal(spawnSync('e2fsck', ['-fn', image]).status, 0, 'the REPL\'s fsck left it clean');

  // 4. Write-protected: mounted read-only, said once; users start, their writes fail; PID 1 carries on.
  const fourth = bootGuest(manifest, { users: image, usersReadOnly: true });
  t.teardown(() => fourth.child.kill('SIGKILL'));
  await fourth.expect(/mounting \/dev\/vda read-write failed \(\w+\): mounted read-only; users start, and their writes fail with EROFS/, BOOT_MS);
  await fourth.expect('users: writer: started', BOOT_MS);
  await fourth.expect('nodeos> ', BOOT_MS);
  await fourth.expect(/writer: exited with code 1; restarting in 2 s/, BOOT_MS);
  t.match(await fourth.value("fs.readFileSync('/home/writer/data', 'utf8').split('\\n')[0]"), 'line 0', 'the files are there to read');
  t.equal(await fourth.value('1 + 1'), 2, 'the console answers');
  t.equal(fourth.output.match(/EROFS/g)?.length, 1, 'the read-only partition is one line in the log, not a complaint from every writer');
  t.match(fourth.output, /ssh: listening on port 22/, 'SSH serves the key it has');
  await powerOff(t, fourth);
});
