// Tier 4: the custom kernel, built from Debian's linux-source with every
// driver built in and the initramfs embedded (10+ minutes the first time,
// then cached: a changed initramfs only relinks). It boots without -initrd,
// and reaches the users partition without loading a module.
import t from 'tap';
import { join } from 'node:path';
import { buildImage } from '../../build/image';
import { bootGuest } from '../../build/qemu';
import { ROOT } from '../../build/paths';
import { buildUsersImage } from '../../build/users-image';
import { BOOT_MS, powerOff, waitJson } from '../fixtures/users-checks';
import { writeUsersTree } from '../fixtures/users-tree';

t.test('the custom kernel boots with its embedded initramfs', async (t) => {
  const { manifest, path } = await buildImage({ arch: 'x64', out: join(ROOT, 'out-custom'), platform: 'qemu', kernel: 'custom' });
  t.equal(manifest.initramfs, undefined, 'no separate initramfs');
  t.same(manifest.modules.included, [], 'no modules: everything is built in');

  // A users partition that cannot be mounted (wrong type forced): the system stays in the initramfs.
  const dir = t.testdir({ tree: {}, empty: {} });
  const unmountable = join(dir, 'unmountable.img');
  buildUsersImage(join(dir, 'empty'), unmountable, { size: '16M', label: 'nodeos-users', owners: {} });
  const bare = bootGuest(path, { append: 'nodeos.rootwait=5 nodeos.usersfstype=vfat', users: unmountable });
  t.teardown(() => bare.child.kill('SIGKILL'));
  await bare.expect('mounting /dev/vda read-write failed', BOOT_MS);
  await bare.expect(/mounting \/home: .*: staying in the initramfs \(ephemeral\)/, BOOT_MS);
  await bare.expect('nodeos> ', BOOT_MS);
  t.notMatch(bare.output, /Command line:.*initrd/);
  t.equal(await bare.value('process.pid'), 1);
  t.match(await bare.value("fs.readFileSync('/proc/version', 'utf8')"), /^Linux version 6\.1/);
  t.equal(await bare.value("fs.existsSync('/proc/config.gz') || fs.readdirSync('/lib').includes('modules')"), false, 'no module tree in the image');
  await bare.seen(/net: eth0: bound 10\.0\.2\.15\/24 from 10\.0\.2\.2/, BOOT_MS); // virtio-net built in
  t.ok(Math.abs((await bare.value<number>('Date.now()')) - Date.now()) < 600_000, 'the clock came from the RTC (CONFIG_RTC_HCTOSYS)');
  await powerOff(t, bare);

  const image = join(dir, 'users.img');
  buildUsersImage(writeUsersTree(join(dir, 'tree')), image, { size: '64M', label: 'nodeos-users', owners: {} });
  const guest = bootGuest(path, { users: image });
  t.teardown(() => guest.child.kill('SIGKILL'));
  await guest.expect('users partition: /dev/vda (ext4, LABEL=nodeos-users)', BOOT_MS);
  await guest.expect('nodeos> ', BOOT_MS);
  t.notMatch(guest.output, /modules: loaded/, 'the disk was reached with built-in drivers');
  t.match(await waitJson(guest, '/home/alice/report.json'), { uid: 1000, homes: ['alice'] }, "alice's init runs, isolated");
  t.match(await guest.value("fs.readFileSync('/sys/fs/cgroup/users/erin/pids.max', 'utf8')"), '30', 'cgroups work');
  await powerOff(t, guest);
});
