// The users partition on a real kernel: drivers, discovery, switch root, each
// user's init under its own uid in its own view of the machine, supervision,
// and persistence across boots. Two boots of one image.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { bootGuest } from '../../build/qemu';
import { ROOT } from '../../build/paths';
import { buildUsersImage } from '../../build/users-image';
import type { Session } from '../../build/session';
import { UIDS, writeUsersTree } from '../fixtures/users-tree';

const manifest = join(ROOT, 'out', 'x64', 'manifest.json');
const BOOT_MS = 240_000;

/** Polls an expression in the guest until it is truthy; returns its value. */
const until = <T>(guest: Session, expression: string) =>
  guest.value<T>(`new Promise((resolve) => { const timer = setInterval(() => { try { const v = ${expression}; if (v) { clearInterval(timer); resolve(v); } } catch {} }, 200); })`, BOOT_MS);

/** Waits for a JSON file to appear and returns its content. */
const waitJson = <T>(guest: Session, path: string) => until<T>(guest, `JSON.parse(fs.readFileSync('${path}', 'utf8'))`);

async function powerOff(t: Test, guest: Session) {
  guest.send('.poweroff\n');
  await guest.expect('calling reboot(2) for poweroff', 120_000);
  t.same(await guest.exited, { code: 0, signal: null }, 'QEMU exits 0 on power-off');
  t.notMatch(guest.output, /Kernel panic/, 'no kernel panic');
}

t.test('users: uid, isolation, supervision, persistence', async (t) => {
  const dir = t.testdir({ tree: {} });
  const image = join(dir, 'users.img');
  buildUsersImage(writeUsersTree(join(dir, 'tree')), image, { size: '64M', label: 'nodeos-users', owners: {} });

  const guest = bootGuest(manifest, { users: image, append: 'nodeos.shutdown_timeout=3000' });
  t.teardown(() => guest.child.kill('SIGKILL'));
  await guest.expect(/modules: loaded virtio_blk/, BOOT_MS);
  await guest.expect('users partition: /dev/vda (ext4, LABEL=nodeos-users)', BOOT_MS);
  await guest.expect('switched root; executing PID 1 again', BOOT_MS);
  await guest.expect('nodeos> ', BOOT_MS);
  t.match(guest.output, /not started: dave: init leads out of the home \(\/bin\/node\): refused/);
  t.notMatch(guest.output, /hidden|lost\+found: /, 'dot-folders and lost+found are not users');

  const reports: Record<string, Record<string, unknown>> = {};
  for (const name of ['root', 'alice', 'bob'] as const) {
    const report = await waitJson<Record<string, unknown>>(guest, `/home/${name}/report.json`);
    reports[name] = report;
    t.match(report, { uid: UIDS[name], gid: UIDS[name], groups: '', HOME: `/home/${name}`, USER: name, cwd: `/home/${name}` }, `${name} runs as itself, at home`);
    t.match(report.PATH, `/home/${name}/bin:/home/${name}/node_modules/.bin:`);
    t.equal(report.noNewPrivs, '1', `${name}: no new privileges`);
  }
  t.same(reports.root.homes, ['.hidden', 'alice', 'bob', 'carol', 'dave', 'erin', 'lost+found', 'root'], 'root sees every home');
  t.same(reports.alice.homes, ['alice'], 'alice sees only her home');
  t.match(reports.alice, { listBob: 'ENOENT', readBob: 'ENOENT', writeBob: 'ENOENT', writeSystem: 'EROFS', writeTmp: 'ok' }, 'other homes are invisible, the system read-only');
  t.equal(reports.alice.suid, String(UIDS.alice), 'a setuid-root binary in a home gives no root');

  // alice cannot signal bob's processes.
  const users = await guest.value<{ name: string; pid: number; state: string; uid: number }[]>('users()');
  t.same(users.map((u) => [u.name, u.uid]), [['root', 0], ['alice', 1000], ['bob', 1001], ['carol', 1002], ['erin', 1004]], 'root first, then by name');
  const bob = users.find((u) => u.name === 'bob')!;
  await guest.eval(`fs.writeFileSync('/home/alice/victim.pid', '${bob.pid}')`);
  t.equal(await waitJson(guest, '/home/alice/kill.json'), 'EPERM', "alice cannot signal bob's init");
  t.match(await guest.value("users().find((u) => u.name === 'bob')"), { state: 'running', pid: bob.pid }, 'bob is unharmed');

  // Limits: bob lowered his; erin's fork bomb hits hers, and everyone else carries on.
  const cgroup = (user: string, file: string) => guest.value<string>(`fs.readFileSync('/sys/fs/cgroup/users/${user}/${file}', 'utf8').trim()`);
  t.equal(await cgroup('bob', 'memory.max'), String(256 * 1024 * 1024), "bob's memory.max from his config");
  t.equal(await cgroup('bob', 'pids.max'), '200');
  t.equal(await cgroup('erin', 'pids.max'), '30');
  await until(guest, "/^max [1-9]/m.test(fs.readFileSync('/sys/fs/cgroup/users/erin/pids.events', 'utf8'))");
  t.ok(Number(await cgroup('erin', 'pids.current')) <= 30, "erin's processes stay under her limit");
  t.match(await cgroup('alice', 'memory.max'), /^\d+$/, 'everyone has a memory limit (75% of RAM by default)');
  t.match(await guest.value("users().find((u) => u.name === 'bob')"), { state: 'running' }, 'bob is untouched by the bomb');
  t.equal(await guest.value('1 + 1'), 2, 'PID 1 still answers');

  // carol crashes at once and is restarted with growing delays.
  await guest.seen('carol: exited with code 1; restarting in 4 s', BOOT_MS);
  t.match(guest.output, /restarting in 1 s[\s\S]*carol: started[\s\S]*restarting in 2 s[\s\S]*carol: started[\s\S]*restarting in 4 s/, 'the delays grow');
  t.match(await guest.value("users().find((u) => u.name === 'carol')"), { restarts: 2, lastExit: 'code 1' });
  t.match(await guest.value("fs.readFileSync('/home/carol/.nodeos/log/init.log', 'utf8')"), /carol crashes\ncarol crashes\n/, "the init's output is in its log");

  await powerOff(t, guest);
  t.match(guest.output, /users: erin: stopped[\s\S]*users: carol: stopped[\s\S]*users: bob: stopped[\s\S]*users: alice: stopped[\s\S]*users: root: stopped[\s\S]*shutdown: unmounted filesystems/, 'users stop in reverse order, before unmounting');
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
