// The built image on a real kernel, driven over the serial console: one boot
// serves every check, and ends with .poweroff.
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bootGuest } from '../../build/qemu';
import { ROOT } from '../../build/paths';
import { buildUsersImage } from '../../build/users-image';
import { Monitor } from '../fixtures/monitor';

const manifest = join(ROOT, 'out', 'x64', 'manifest.json');
const BOOT_MS = 180_000; // TCG on a loaded 2-core machine

t.test('without a users partition: says what it searched, boots to the REPL as PID 1, answers, powers off cleanly', async (t) => {
  t.ok(existsSync(manifest), 'the image is built (npm test builds it)');
  // A disk, but not with the label looked for.
  const dir = t.testdir({ empty: {} });
  const other = join(dir, 'other.img');
  buildUsersImage(join(dir, 'empty'), other, { size: '16M', label: 'other-label', owners: {} });
  // A NIC where no DHCP server will ever answer: it must not hold anything up.
  const socket = join(mkdtempSync(join(tmpdir(), 'nodeos-')), 'monitor.sock'); // a unix socket's path: at most 107 bytes
  t.teardown(() => rmSync(dirname(socket), { recursive: true, force: true }));
  const guest = bootGuest(manifest, { append: 'nodeos.rootwait=2', disks: [other], net: 'isolated', monitor: socket });
  t.teardown(() => guest.child.kill('SIGKILL'));
  const monitor = await Monitor.connect(socket);
  t.teardown(() => monitor.close());
  await guest.expect('no users partition LABEL=nodeos-users after 2 s; searched /dev/vda (ext4, LABEL=other-label)', BOOT_MS);
  await guest.expect('this system is ephemeral, changes are lost at power-off', BOOT_MS);

  await guest.expect(/nodeos: boot: ready in \d+ ms/, BOOT_MS);
  await guest.expect('nodeos> ', BOOT_MS);
  t.equal(await guest.value('process.pid'), 1, 'the REPL is PID 1');
  t.equal(await guest.value('1+1'), 2);
  t.equal(await guest.value('process.stdin.isTTY && process.stdout.isTTY'), true, 'the console is a real TTY');
  t.equal(await guest.value("require('os').hostname()"), 'nodeos', 'default hostname');
  t.equal(await guest.value("ps().find((p) => p.pid === 1).command"), '/bin/node --optimize-for-size /init', "PID 1 is /init, run by node with its #! line's option");
  const targets = await guest.value<string[]>('mounts().map((m) => m.target)');
  for (const target of ['/proc', '/sys', '/dev', '/dev/pts', '/dev/shm', '/run', '/tmp']) t.ok(targets.includes(target), `${target} is mounted`);
  t.equal(await guest.value("child_process.execFileSync(process.execPath, ['-p', 'process.ppid'], { encoding: 'utf8' }).trim()"), '1', 'child_process works');
  t.match(await guest.value("net().interfaces.find((i) => i.name === 'eth0')"), { mode: 'dhcp', state: 'selecting', carrier: true }, 'the silent network: still asking, in the background');
  t.match(guest.output, /boot: ready in[\s\S]*net: eth0: selecting: looking for a DHCP server/, 'ready did not wait for the links, nor for a lease');
  t.equal(await guest.value("new Promise((resolve) => child_process.spawn(process.execPath, ['-e', 'process.exit(9)']).on('exit', resolve))"), 9);

  // A device plugged in now: the kernel's uevent brings its driver (no device of the kind was there at boot).
  t.equal(await guest.value("fs.existsSync('/sys/module/virtio_rng')"), false, 'no RNG driver yet');
  await monitor.command('device_add virtio-rng-pci,id=rng0');
  await guest.expect(/modules: loaded virtio_rng[\s\S]*hotplug: \/devices\/\S+: driver loaded for virtio:d00000004/, 60_000);
  t.equal(await guest.value("fs.readFileSync('/sys/class/misc/hw_random/rng_current', 'utf8').trim()"), 'virtio_rng.0', 'the new device works');

  // PID 1's lines are kernel log records, with the kernel's timestamps.
  guest.send('dmesg()\n');
  await guest.expect(/\[\s*\d+\.\d{6}\] nodeos: boot: ready in \d+ ms/, 30_000);

  // Ctrl-D closes the REPL; a new one opens.
  guest.send('\x04');
  await guest.expect('REPL closed; opening a new one', 30_000);
  t.equal(await guest.value('6*7'), 42, 'the new REPL answers');

  guest.send('.poweroff\n');
  await guest.expect('calling reboot(2) for poweroff', 60_000);
  t.same(await guest.exited, { code: 0, signal: null }, 'QEMU exits 0 on power-off');
  t.notMatch(guest.output, /Kernel panic/, 'no kernel panic');
});
