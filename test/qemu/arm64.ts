// The same PID 1 on arm64: under qemu-system-aarch64 as a generic arm64
// machine (virt) with the users fixture and the checks every x64 boot of it
// passes, and as an emulated Raspberry Pi 3 B booting the SD card itself:
// the SD drivers loaded, the users partition found on the card by label, the
// users run, and `.reboot` restarting the board through its watchdog.
import t from 'tap';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { buildImage } from '../../build/image';
import { bootGuest } from '../../build/qemu';
import { ROOT } from '../../build/paths';
import { buildUsersImage } from '../../build/users-image';
import { buildSdImage, SD_IMAGE } from '../../build/sd-image';
import { writeUsersTree, UIDS } from '../fixtures/users-tree';
import { BOOT_MS, checkUsers, powerOff, waitJson } from '../fixtures/users-checks';

const out = join(ROOT, 'out');

t.test('arm64 under virt: the REPL, the addon, the users fixture, power-off', async (t) => {
  const { path: manifest } = await buildImage({ arch: 'arm64', out, platform: 'qemu', kernel: 'debian' });
  const dir = t.testdir({ tree: {} });
  const image = join(dir, 'users.img');
  buildUsersImage(writeUsersTree(join(dir, 'tree'), 'arm64'), image, { size: '64M', label: 'nodeos-users', owners: {} });

  const guest = bootGuest(manifest, { users: image, net: 'none', append: 'nodeos.shutdown_timeout=3000' });
  t.teardown(() => guest.child.kill('SIGKILL'));
  await guest.expect('switched root: the users partition is /home', BOOT_MS);
  await guest.expect('nodeos> ', BOOT_MS);
  t.same(await guest.value('[process.arch, process.pid]'), ['arm64', 1], 'arm64, as PID 1');
  t.notMatch(guest.output, /compile cache: /, 'PID 1 loaded from the compile cache the build made under qemu-user, not compiled from source');
  t.match(await guest.value("fs.readFileSync('/proc/mounts', 'utf8')"), /^\/dev\/vda \/home ext4 /m, 'the addon mounted the users partition');
  await checkUsers(t, guest);
  await powerOff(t, guest);
});

t.test('an emulated Raspberry Pi 3 B boots the SD card: drivers, the users partition by label, users, reboot through the watchdog', async (t) => {
  const { path: manifest } = await buildImage({ arch: 'arm64', out, platform: 'rpi', kernel: 'debian' });
  const dir = t.testdir({ tree: {} });
  const tree = writeUsersTree(join(dir, 'tree'), 'arm64');
  const card = await buildSdImage(manifest, { usersDir: tree, usersSize: '256M', owners: {} });
  t.equal(card, join(out, 'arm64', 'rpi', SD_IMAGE));

  const pi = bootGuest(manifest, { sdCard: card });
  t.teardown(() => pi.child.kill('SIGKILL'));
  await pi.expect(/modules: loaded sdhci_iproc/, BOOT_MS);
  await pi.expect('users partition: /dev/mmcblk0p2 (ext4, LABEL=nodeos-users)', BOOT_MS);
  await pi.expect('nodeos> ', BOOT_MS);
  t.match(pi.output, /modules: loaded bcm2835_wdt/, 'the watchdog its reboot goes through');
  t.same(await pi.value("fs.readFileSync('/proc/device-tree/model', 'utf8').replace(/\\0$/, '')"), 'Raspberry Pi 3 Model B', 'the board');
  t.match(await waitJson(pi, '/home/alice/report.json'), { uid: UIDS.alice, gid: UIDS.alice, noNewPrivs: '1', homes: ['alice'] }, 'alice runs as herself, in her own view');
  t.same((await pi.value<{ name: string }[]>('users()')).map((u) => u.name), ['root', 'alice', 'bob', 'carol', 'erin', 'frank', 'hog']);
  pi.send('.reboot\n');
  await pi.expect('calling reboot(2) for reboot', BOOT_MS);
  await pi.expect('reboot: Restarting system', BOOT_MS);
  t.same(await pi.exited, { code: 0, signal: null }, 'the board restarted (QEMU, told not to reboot, exits)');
  // The users partition, cut out of the card: clean after the reboot.
  const users = JSON.parse(execFileSync('sfdisk', ['-J', card], { encoding: 'utf8' })).partitiontable.partitions[1];
  const part = join(dir, 'users.img');
  execFileSync('dd', [`if=${card}`, `of=${part}`, 'bs=512', `skip=${users.start}`, `count=${users.size}`, 'status=none']);
  t.equal(spawnSync('e2fsck', ['-fn', part]).status, 0, 'e2fsck finds the users partition clean');
});
