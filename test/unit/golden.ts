// Boot and shutdown order, pinned as syscall traces against a recording fake.
import t from 'tap';
import { mountAll, PSEUDO_FILESYSTEMS, type MountSeams } from '../../src/mounts';
import type { MountEntry } from '../../src/mountinfo';
import type { ProcessInfo } from '../../src/proc';
import { kernelEnding, shutdown, type Ending, type ShutdownSeams } from '../../src/shutdown';
import { containerEnding } from '../../src/container';
import { fakeSys, memoryLog, type FakeSys } from '../fixtures/fake-sys';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseCmdline } from '../../src/config';
import { Network } from '../../src/net/network';

t.test('mounting the pseudo filesystems: in order, a failure skips only itself', async (t) => {
  const sys = fakeSys();
  sys.failWhen('mount(devpts', 'ENODEV');
  const already = new Set(['/run']);
  const seams: MountSeams = { sys, isMounted: (target) => already.has(target), mkdir: (target) => void sys.trace.push(`mkdir(${target})`) };
  const log = memoryLog();
  const outcomes = mountAll(PSEUDO_FILESYSTEMS, seams, log);
  t.same(sys.trace, [
    'mkdir(/proc)',
    'mount(proc, /proc, proc, NOSUID|NODEV|NOEXEC|RELATIME, -)',
    'mkdir(/sys)',
    'mount(sysfs, /sys, sysfs, NOSUID|NODEV|NOEXEC|RELATIME, -)',
    'mkdir(/sys/fs/cgroup)',
    'mount(cgroup2, /sys/fs/cgroup, cgroup2, NOSUID|NODEV|NOEXEC|RELATIME, nsdelegate,favordynmods)',
    'mkdir(/dev)',
    'mount(devtmpfs, /dev, devtmpfs, NOSUID|RELATIME, mode=0755)',
    'mkdir(/dev/pts)',
    'mount(devpts, /dev/pts, devpts, NOSUID|NOEXEC|RELATIME, gid=5,mode=0620,ptmxmode=0666)',
    'mkdir(/dev/shm)',
    'mount(tmpfs, /dev/shm, tmpfs, NOSUID|NODEV|RELATIME, mode=1777,size=25%)',
    'mkdir(/tmp)',
    'mount(tmpfs, /tmp, tmpfs, NOSUID|NODEV|RELATIME, mode=1777,size=25%)',
  ]);
  t.same(outcomes, ['mounted', 'mounted', 'mounted', 'mounted', 'failed', 'mounted', 'already mounted', 'mounted']);
  t.same(log.lines.filter((l) => l.startsWith('warn')), ['warn: /dev/pts: ENODEV: fake failure, mount(devpts, /dev/pts, devpts, NOSUID|NOEXEC|RELATIME, gid=5,mode=0620,ptmxmode=0666)']);
});

const mount = (id: number, target: string, fstype: string, device = `0:${id}`): MountEntry => ({
  id,
  parent: 1,
  device,
  target,
  fstype,
  source: fstype,
  options: 'rw',
});

const proc = (pid: number, name: string, state = 'S', kernelThread = false, ppid = process.pid): ProcessInfo => ({ pid, ppid, name, state, kernelThread });

/** A machine whose processes and mounts the test scripts, and whose calls are traced; a kernel's unless another ending is given. */
function machine(processes: () => ProcessInfo[], ending?: (sys: FakeSys) => Ending) {
  const sys = fakeSys();
  const seams: ShutdownSeams = {
    ...(ending ?? kernelEnding)(sys),
    sys,
    processes,
    mounts: () => [
      mount(1, '/', 'rootfs'),
      mount(2, '/proc', 'proc'),
      mount(3, '/sys', 'sysfs'),
      mount(4, '/dev', 'devtmpfs'),
      mount(5, '/dev/pts', 'devpts'),
      mount(6, '/run', 'tmpfs'),
      mount(7, '/home', 'ext4', '254:1'),
      mount(8, '/srv/share', 'fuse.sshfs'),
      mount(9, '/media/usb', 'vfat', '8:1'),
      mount(10, '/media', 'tmpfs'),
    ],
    holders: (target) => (target === '/home' ? ['stubborn (9): /home/alice/log'] : []),
    closeOwnFiles: () => [],
    // Its reap is immediate: a zombie child is no longer a child.
    reap: () => processes().filter((p) => p.ppid === process.pid && p.state !== 'Z').length,
    stopOwn: () => void sys.trace.push('stop users, console and own children'),
  };
  return { sys, seams };
}

t.test('shutdown: TERM, grace, KILL, sync, unmount what holds data newest first, sync, reboot', async (t) => {
  let killed = false;
  const { sys, seams } = machine(() => [proc(process.pid, 'init'), proc(2, 'kthreadd', 'S', true), ...(killed ? [proc(9, 'stubborn', 'Z')] : [proc(9, 'stubborn')])]);
  const killAll = sys.killAll;
  sys.killAll = (signal) => {
    killAll(signal);
    killed ||= signal === 9;
  };
  sys.failWhen('umount2(/home, 0)', 'EBUSY');
  sys.failWhen('umount2(/srv/share, 0)', 'EBUSY');
  const log = memoryLog();
  await shutdown('poweroff', 50, seams, log);
  t.same(sys.trace, [
    'stop users, console and own children',
    'kill(-1, SIGTERM)',
    'kill(-1, SIGKILL)',
    'sync()',
    'umount2(/media, 0)', // memory only, but it hides the disk under it
    'umount2(/media/usb, 0)',
    'umount2(/srv/share, 0)',
    'umount2(/srv/share, DETACH)', // busy, and no disk to make read-only
    'umount2(/home, 0)',
    'mount(-, /home, -, RDONLY|REMOUNT, -)',
    // /run, /dev/pts, /dev, /sys and /proc hold nothing to write back: left mounted
    'sync()',
    'reboot(POWER_OFF)',
  ]);
  t.ok(log.lines.includes('info: still running: stubborn (9)'), 'names what outlived the grace period');
  t.ok(log.lines.includes('info: /home: EBUSY (held by stubborn (9): /home/alice/log): remounted read-only'), 'names who keeps the disk busy');
  t.match(log.lines.filter((l) => / \(\d+ ms\)$/.test(l)).map((l) => l.replace(/ \(\d+ ms\)$/, '')), [
    'info: stopped users, console and own children',
    'info: sent SIGTERM to all processes',
    'info: grace period',
    'info: SIGKILL to survivors',
    'info: synced filesystems',
    'info: unmounted filesystems',
    'info: synced filesystems',
  ]);
});

t.test('shutdown: nobody left after TERM means no KILL, and each action maps to its reboot command', async (t) => {
  for (const [action, command] of [['reboot', 'RESTART'], ['halt', 'HALT'], ['poweroff', 'POWER_OFF']] as const) {
    let terminated = false;
    const { sys, seams } = machine(() => [proc(process.pid, 'init'), ...(terminated ? [] : [proc(9, 'polite')])]);
    const killAll = sys.killAll;
    sys.killAll = (signal) => {
      killAll(signal);
      terminated = true;
    };
    await shutdown(action, 5000, seams, memoryLog());
    t.notOk(sys.trace.includes('kill(-1, SIGKILL)'), `${action}: no SIGKILL`);
    t.equal(sys.trace.at(-1), `reboot(${command})`);
  }
});

t.test("shutdown: the grace period watches PID 1's own children, and reads all of /proc once they are gone", async (t) => {
  let scans = 0;
  let looks = 0;
  const { sys, seams } = machine(() => (scans++, [proc(process.pid, 'init', 'S', false, 0), proc(2, 'kthreadd', 'S', true, 0)]));
  seams.reap = () => Math.max(0, 3 - ++looks); // after SIGTERM, one child fewer at each look
  await shutdown('poweroff', 5000, seams, memoryLog());
  t.equal(looks, 3, 'it looked at its children until none was left');
  t.equal(scans, 1, 'then read the whole list once');
  t.notOk(sys.trace.includes('kill(-1, SIGKILL)'));

  // A process that is not its child (a container's exec) is found by the whole list, and waited for.
  let outsiderLooks = 0;
  const outside = machine(() => [proc(process.pid, 'init', 'S', false, 0), ...(++outsiderLooks < 4 ? [proc(30, 'exec', 'S', false, 0)] : [])]);
  const log = memoryLog();
  await shutdown('poweroff', 5000, outside.seams, log);
  t.equal(outsiderLooks, 4, 'the grace lasted until the outsider was gone');
  t.notOk(outside.sys.trace.includes('kill(-1, SIGKILL)'), 'no SIGKILL for it');
});

t.test('shutdown: a failing reboot(2) is logged, not thrown', async (t) => {
  const { sys, seams } = machine(() => []);
  sys.failWhen('reboot', 'EPERM');
  const log = memoryLog();
  await shutdown('reboot', 10, seams, log);
  t.match(log.lines.at(-1), /^error: reboot\(2\): EPERM/);
});

t.test('shutdown in a container: TERM, grace, KILL, sync, then the exit status; the engine\'s mounts are left alone', async (t) => {
  for (const [action, code] of [['poweroff', 0], ['halt', 0], ['reboot', 129]] as const) {
    let terminated = false;
    const { sys, seams } = machine(
      () => [proc(process.pid, 'init'), ...(terminated ? [] : [proc(9, 'polite')])],
      (sys) => containerEnding((status) => void sys.trace.push(`exit(${status})`)),
    );
    const killAll = sys.killAll;
    sys.killAll = (signal) => {
      killAll(signal);
      terminated = true;
    };
    const log = memoryLog();
    await shutdown(action, 5000, seams, log);
    t.same(sys.trace, ['stop users, console and own children', 'kill(-1, SIGTERM)', 'sync()', `exit(${code})`], action);
    t.equal(log.lines.at(-1), `info: ${action}: exiting with status ${code}`);
  }
});

t.test('networking at boot: loopback first, then each link as the command line says', async (t) => {
  const link = (type: number, flags: string, mac: string) => ({ type: `${type}\n`, flags, address: `${mac}\n`, carrier: '1\n', mtu: '1500\n' });
  const dir = t.testdir({
    net: { lo: link(772, '0x9', '00:00:00:00:00:00'), eth0: link(1, '0x1002', '52:54:00:00:00:01'), eth1: link(1, '0x1002', '52:54:00:00:00:02') },
    run: {},
  });
  const sys = fakeSys();
  const config = parseCmdline('nodeos.net=off nodeos.net.eth1=10.9.2.5/24,gw=10.9.2.1,dns=10.9.2.53,mtu=1400 nodeos.hostname=golden');
  const ntp: string[][] = [];
  const network = new Network(sys, config, memoryLog(), (servers) => ntp.push(servers), { sysfs: `${dir}/net`, netDir: `${dir}/run` });
  network.start();
  await new Promise(setImmediate); // links come up once the boot step has returned
  await network.stop();
  t.same(sys.trace, [
    'link_set(lo, up, 0)',
    'address_add(lo, 127.0.0.1/8)',
    'address_add(lo, ::1/128)',
    'link_set(eth1, up, 1400)',
    'address_add(eth1, 10.9.2.5/24)',
    'route_add(eth1, 0.0.0.0/0, 10.9.2.1)',
  ], 'eth0 is left alone (nodeos.net=off); nothing to release at shutdown');
  t.match(readFileSync(`${dir}/run/resolv.conf`, 'utf8'), /^nameserver 10\.9\.2\.53$/m);
  t.match(readFileSync(`${dir}/run/hosts`, 'utf8'), /^127\.0\.1\.1\tgolden$/m);
  t.same(ntp, [], 'no time servers: the clock is not asked to sync');

  // A shutdown asked for before the first look at the links: none is brought up after it.
  const early = fakeSys();
  const stopped = new Network(early, config, memoryLog(), () => {}, { sysfs: `${dir}/net`, netDir: `${dir}/run` });
  stopped.start();
  await stopped.stop();
  await new Promise(setImmediate);
  t.same(early.trace, ['link_set(lo, up, 0)', 'address_add(lo, 127.0.0.1/8)', 'address_add(lo, ::1/128)'], 'only loopback, before the stop');
});

t.test('an interface whose driver loads after ready is set up when the hotplug says so, not at the next poll', async (t) => {
  const link = (type: number, flags: string, mac: string) => ({ type: `${type}\n`, flags, address: `${mac}\n`, carrier: '1\n', mtu: '1500\n' });
  const dir = t.testdir({ net: { lo: link(772, '0x9', '00:00:00:00:00:00') }, run: {} });
  const sys = fakeSys();
  const network = new Network(sys, parseCmdline('nodeos.net=off nodeos.net.eth1=10.9.2.5/24'), memoryLog(), () => {}, { sysfs: `${dir}/net`, netDir: `${dir}/run` });
  network.start();
  await new Promise(setImmediate);
  const loopback = sys.trace.length;
  mkdirSync(`${dir}/net/eth1`);
  for (const [name, value] of Object.entries(link(1, '0x1002', '52:54:00:00:00:02'))) writeFileSync(`${dir}/net/eth1/${name}`, value);
  network.linksChanged();
  t.same(sys.trace.slice(loopback), ['link_set(eth1, up, 0)', 'address_add(eth1, 10.9.2.5/24)']);
  await network.stop();
  const stopped = sys.trace.length;
  network.linksChanged();
  t.equal(sys.trace.length, stopped, 'nothing after the shutdown');
});
