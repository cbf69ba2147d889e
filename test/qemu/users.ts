// The users partition on a real kernel: drivers, discovery, switch root, each
// user's init under its own uid in its own view of the machine, supervision,
// and persistence across boots. Two boots of one image.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { bootGuest } from '../../build/qemu';
import { ROOT } from '../../build/paths';
import { buildUsersImage } from '../../build/users-image';
import { UIDS, writeUsersTree } from '../fixtures/users-tree';
import { BOOT_MS, checkUsers, powerOff, until, waitJson } from '../fixtures/users-checks';

const manifest = join(ROOT, 'out', 'x64', 'manifest.json');

t.test('users: uid, isolation, supervision, persistence', async (t) => {
  const dir = t.testdir({ tree: {} });
  const image = join(dir, 'users.img');
  buildUsersImage(writeUsersTree(join(dir, 'tree'), 'x64', { flood: true }), image, { size: '64M', label: 'nodeos-users', owners: {} });

  const guest = bootGuest(manifest, { users: image, append: 'nodeos.shutdown_timeout=3000' });
  t.teardown(() => guest.child.kill('SIGKILL'));
  await guest.expect(/modules: loaded virtio_blk/, BOOT_MS);
  await guest.expect('users partition: /dev/vda (ext4, LABEL=nodeos-users)', BOOT_MS);
  await guest.expect('switched root: the users partition is /home', BOOT_MS);
  await guest.expect('nodeos> ', BOOT_MS);
  await checkUsers(t, guest, ['flood']);
  // One malloc arena (src/one-arena.ts) for PID 1, from the command line (build/image.ts), and for the log writers; a user's init has glibc's default.
  const environ = (pid: string) => guest.value<string[]>(`fs.readFileSync('/proc/' + ${pid} + '/environ', 'utf8').split('\\0')`);
  t.ok((await environ('1')).includes('MALLOC_ARENA_MAX=1'), "PID 1's threads share one malloc arena");
  const alice = await environ("users().find((u) => u.name === 'alice').pid");
  t.ok(alice.includes('USER=alice') && !alice.some((v) => v.startsWith('MALLOC_')), "alice's init has her environment, not PID 1's");
  // flood's processes come and go meanwhile: one that ends between the listing and the reads is passed over.
  const writer = await environ(`fs.readdirSync('/proc').find((p) => { try { return /^\\d+$/.test(p) && fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').includes('log-writer') && fs.statSync('/proc/' + p).uid === ${UIDS.alice}; } catch { return false; } })`);
  t.ok(writer.includes('USER=alice') && writer.includes('MALLOC_ARENA_MAX=1'), "alice's log writer runs as her, with one arena");

  // flood's million open() attempts, 10 000 orphans and 20 MiB of log: PID 1 answers throughout, reaps every orphan, and its heap stays small.
  let [slowest, answers, wrong] = [0, 0, 0];
  for (;;) {
    const asked = Date.now();
    if ((await guest.value('1 + 1')) !== 2) wrong++;
    slowest = Math.max(slowest, Date.now() - asked);
    answers++;
    if (await guest.value("fs.existsSync('/home/flood/flood.json')")) break;
  }
  t.equal(wrong, 0, `the REPL answered all through the flood (${answers} times, the slowest in ${slowest} ms over the serial line)`);
  const flood = await waitJson<{ opened: number; fdError: string; orphans: number; logged: number }>(guest, '/home/flood/flood.json');
  t.match(flood, { fdError: 'EMFILE', orphans: 10000, logged: 20 << 20 }, `a million open()s end at the user's own limit (${flood.opened} opened), 10 000 orphans, 20 MiB logged`);
  await until(guest, "ps().filter((p) => p.state === 'Z').length === 0 || null");
  t.same(await guest.value("ps().filter((p) => p.state === 'Z')"), [], 'every orphan reaped');
  const logs = await guest.value<number[]>("['init.log', 'init.log.1'].map((f) => fs.statSync('/home/flood/.nodeos/log/' + f).size)");
  t.ok(logs.every((size) => size <= 1 << 20), `the log flood left two files of at most 1 MiB (${logs.join(', ')} bytes)`);
  const heap = await guest.value<number>('process.memoryUsage().heapUsed');
  t.ok(heap < 64 << 20, `PID 1's heap stayed small (${Math.round(heap / 1024 / 1024)} MiB)`);

  // carol crashes at once and is restarted with growing delays.
  await guest.seen('carol: exited with code 1; restarting in 4 s', BOOT_MS);
  t.match(guest.output, /restarting in 1 s[\s\S]*carol: started[\s\S]*restarting in 2 s[\s\S]*carol: started[\s\S]*restarting in 4 s/, 'the delays grow');
  const carol = await guest.value<{ restarts: number; lastExit: string }>("users().find((u) => u.name === 'carol')");
  t.ok(carol.restarts >= 2, `carol was restarted (${carol.restarts} times)`);
  t.equal(carol.lastExit, 'code 1');
  t.match(await guest.value("fs.readFileSync('/home/carol/.nodeos/log/init.log', 'utf8')"), /carol crashes\ncarol crashes\n/, "the init's output is in its log");

  // Powered off while carol waits (her delays are long by now), not in the moment one of her runs is up.
  await until(guest, "users().find((u) => u.name === 'carol').state === 'backoff'");
  await powerOff(t, guest);
  for (const name of ['alice', 'bob', 'erin']) t.match(guest.output, new RegExp(`users: ${name}: stopped[\\s\\S]*users: root: stopped`), `${name} stops before root, whose init sees every home`);
  t.match(guest.output, /users: root: stopped[\s\S]*shutdown: unmounted filesystems/, 'root stops last, before unmounting');
  t.match(guest.output, /poweroff requested[\s\S]*users: carol: stopped \(was waiting to restart\)[\s\S]*users: erin: stopped/, 'one waiting to restart is stopped at once, not restarted while the others stop');
  t.match(guest.output, /users: alice: stopped \(code 0\)/, 'alice exited on SIGTERM, as her init says');
  const fsck = spawnSync('e2fsck', ['-fn', image], { encoding: 'utf8' });
  t.equal(fsck.status, 0, `e2fsck finds the image clean\n${fsck.stdout}`);

  // Second boot: what alice wrote during the first is still there.
  const again = bootGuest(manifest, { users: image });
  t.teardown(() => again.child.kill('SIGKILL'));
  await again.expect('nodeos> ', BOOT_MS);
  // alice's init appends a line at each start: the first boot's line is still there.
  t.equal(await until(again, "fs.readFileSync('/home/alice/boots.txt', 'utf8').split('\\n').length > 2 && fs.readFileSync('/home/alice/boots.txt', 'utf8')"), 'boot\nboot\n', 'a file written in the first boot survived');
  await powerOff(t, again);
  t.equal(spawnSync('e2fsck', ['-fn', image]).status, 0, 'still clean');
});
