// The PC disk image booted as a PC boots it: UEFI firmware (OVMF), no -kernel;
// systemd-boot on the ESP starts the kernel, which finds the users partition
// on the same disk. The users' checks are the users test's own.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { bootGuest } from '../../build/qemu';
import { buildPcImage } from '../../build/pc-image';
import { ROOT } from '../../build/paths';
import { BOOT_MS, checkUsers, powerOff } from '../fixtures/users-checks';
import { writeUsersTree } from '../fixtures/users-tree';

const manifest = join(ROOT, 'out', 'x64', 'manifest.json');

t.test('disk.img boots under UEFI to the users', async (t) => {
  const dir = t.testdir({ tree: {} });
  const disk = await buildPcImage(manifest, { usersDir: writeUsersTree(join(dir, 'tree')), usersSize: '128M', owners: {} });
  const table = spawnSync('sfdisk', ['--json', disk], { encoding: 'utf8' });
  t.match(JSON.parse(table.stdout).partitiontable, { label: 'gpt', partitions: [{ name: 'nodeos-boot', type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' }, { name: 'nodeos-users' }] });

  const guest = bootGuest(manifest, { pcDisk: disk });
  t.teardown(() => guest.child.kill('SIGKILL'));
  await guest.expect('users partition: /dev/vda2 (ext4, LABEL=nodeos-users, PARTLABEL=nodeos-users)', BOOT_MS);
  await guest.expect('nodeos> ', BOOT_MS);
  await checkUsers(t, guest);
  await powerOff(t, guest);
  // The users partition, as written on the disk, is clean.
  const users = join(dir, 'users-partition.img');
  const start = JSON.parse(table.stdout).partitiontable.partitions[1].start;
  spawnSync('dd', [`if=${disk}`, `of=${users}`, 'bs=512', `skip=${start}`, 'status=none']);
  t.equal(spawnSync('e2fsck', ['-fn', users]).status, 0, 'e2fsck finds the users partition clean');
});
