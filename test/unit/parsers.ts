// The small readers of kernel and tool output.
import t from 'tap';
import { parseDepends } from '../../build/apt';
import { parseReadelf } from '../../build/node-binary';
import { parseKmsgRecord, formatKmsgRecord } from '../../src/kmsg';
import { isBlockBacked, parseMountinfo } from '../../src/mountinfo';
import { parseStat } from '../../src/proc';
import { parseActiveConsoles } from '../../src/consoles';

t.test('mountinfo: fields, optional tags and octal escapes', async (t) => {
  const entries = parseMountinfo(
    [
      '22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro',
      '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
      '40 22 0:35 / /mnt/my\\040disk rw,relatime - tmpfs my\\134src rw,size=1024k',
      '',
    ].join('\n'),
  );
  t.same(
    entries.map((e) => [e.id, e.parent, e.target, e.fstype, e.source, isBlockBacked(e)]),
    [
      [22, 1, '/', 'ext4', '/dev/vda1', true],
      [23, 22, '/proc', 'proc', 'proc', false],
      [40, 22, '/mnt/my disk', 'tmpfs', 'my\\src', false],
    ],
  );
  t.equal(entries[1].options, 'rw,nosuid,nodev,noexec,relatime');
  t.throws(() => parseMountinfo('1 2 3'), /malformed/);
});

t.test('stat: a name with spaces and parentheses, kernel thread flag', async (t) => {
  t.match(parseStat('42 (my (odd) name) Z 1 42 42 0 -1 4194560 0 0'), { pid: 42, name: 'my (odd) name', state: 'Z', ppid: 1, kernelThread: false });
  t.match(parseStat('2 (kthreadd) S 0 0 0 0 -1 2129984 0 0'), { pid: 2, ppid: 0, kernelThread: true });
  t.throws(() => parseStat('garbage'), /malformed/);
});

t.test('kmsg: priority, timestamp, message; continuation lines dropped', async (t) => {
  const record = parseKmsgRecord('6,339,5140900,-;nodeos: ready in 812 ms\n SUBSYSTEM=x\n');
  t.same(record, { priority: 6, seconds: 5.1409, message: 'nodeos: ready in 812 ms' });
  t.equal(formatKmsgRecord(record!), '[    5.140900] nodeos: ready in 812 ms');
  t.equal(parseKmsgRecord('14,1,0,-;facility bits are masked')?.priority, 6);
  t.equal(parseKmsgRecord('no separator'), undefined);
});

t.test('readelf: what a binary needs (any arch), and its interpreter', async (t) => {
  const output = [
    '      [Requesting program interpreter: /lib/ld-linux-aarch64.so.1]',
    ' 0x0000000000000001 (NEEDED)             Shared library: [libstdc++.so.6]',
    ' 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]',
    ' 0x000000000000000e (SONAME)             Library soname: [libx.so.1]',
  ].join('\n');
  t.same(parseReadelf(output), { needed: ['libstdc++.so.6', 'libc.so.6'], interpreter: '/lib/ld-linux-aarch64.so.1' });
  t.same(parseReadelf(' 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n'), { needed: ['libc.so.6'], interpreter: undefined }, 'a library has no interpreter');
});

t.test('apt-cache depends: the kernel package behind the meta package', async (t) => {
  t.equal(parseDepends('linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n', 'linux-image-'), 'linux-image-6.1.0-56-cloud-amd64');
  t.equal(parseDepends('linux-source\n  Depends: linux-source-6.1\n', 'linux-source-'), 'linux-source-6.1');
  t.equal(parseDepends('linux-image-cloud-amd64\n', 'linux-image-'), undefined);
});

t.test('consoles: the kernel\'s active list, tty0 meaning the VT in front', async (t) => {
  t.same(parseActiveConsoles('ttyS0 tty0\n'), ['ttyS0', 'tty1']);
  t.same(parseActiveConsoles('tty0 tty1 ttyAMA0\n'), ['tty1', 'ttyAMA0'], 'one terminal per device');
  t.same(parseActiveConsoles('\n'), []);
  t.same(parseActiveConsoles('ttyS0 ../x'), ['ttyS0'], 'never a path');
});
