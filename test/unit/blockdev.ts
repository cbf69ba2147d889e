// Filesystems and partition tables made by the real tools, read by our probes.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { listBlockDevices, matchesSpec, probeFilesystem, readGpt } from '../../src/blockdev';

const head = (file: string) => readFileSync(file).subarray(0, 65536);
const run = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { input, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });

t.test('ext4: label and UUID from the superblock', async (t) => {
  const img = `${t.testdir()}/ext4.img`;
  run('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'nodeos-users', '-U', '0b9a3f3e-7c1d-4a55-9e21-5d3c2b1a0f99', img, '8M']);
  t.same(probeFilesystem(head(img)), { type: 'ext4', uuid: '0b9a3f3e-7c1d-4a55-9e21-5d3c2b1a0f99', label: 'nodeos-users' });
  run('mke2fs', ['-q', '-F', '-t', 'ext4', '-O', 'quota', '-E', 'quotatype=usrquota', img, '8M']);
  t.match(probeFilesystem(head(img)), { type: 'ext4', quota: true }, 'the quota feature');
});

t.test('vfat: FAT32 and FAT16 labels and serials', async (t) => {
  const dir = t.testdir();
  run('mkfs.vfat', ['-C', '-F', '32', '-n', 'BOOT', '-i', '1234ABCD', `${dir}/fat32.img`, '40000']);
  t.same(probeFilesystem(head(`${dir}/fat32.img`)), { type: 'vfat', uuid: '1234-ABCD', label: 'BOOT' });
  run('mkfs.vfat', ['-C', '-F', '16', '-i', '0000BEEF', `${dir}/fat16.img`, '20000']);
  t.same(probeFilesystem(head(`${dir}/fat16.img`)), { type: 'vfat', uuid: '0000-BEEF' });
});

t.test('unknown or empty devices are not filesystems', async (t) => {
  t.equal(probeFilesystem(Buffer.alloc(65536)), undefined);
  t.equal(probeFilesystem(Buffer.alloc(10)), undefined);
  t.same(probeFilesystem(Buffer.from('hsqs....')), { type: 'squashfs' });
});

function gptDisk(file: string) {
  writeFileSync(file, Buffer.alloc(0));
  run('truncate', ['-s', '20M', file]);
  run('sfdisk', ['--quiet', file], [
    'label: gpt',
    'start=2048, size=8192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=6E1F3A2B-1C4D-4E5F-8A9B-0C1D2E3F4A5B, name="nodeos-boot"',
    'start=10240, size=20000, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=11223344-5566-7788-99AA-BBCCDDEEFF00, name="nodeos-users"',
    '',
  ].join('\n'));
}

t.test('GPT: PARTUUID and PARTLABEL of each used entry', async (t) => {
  const disk = `${t.testdir()}/disk.img`;
  gptDisk(disk);
  const fd = openSync(disk, 'r');
  t.teardown(() => closeSync(fd));
  const read = (offset: number, length: number) => {
    const b = Buffer.alloc(length);
    return b.subarray(0, readSync(fd, b, 0, length, offset));
  };
  t.same(readGpt(read), [
    { number: 1, partuuid: '6e1f3a2b-1c4d-4e5f-8a9b-0c1d2e3f4a5b', partlabel: 'nodeos-boot' },
    { number: 2, partuuid: '11223344-5566-7788-99aa-bbccddeeff00', partlabel: 'nodeos-users' },
  ]);
  t.same(readGpt(() => Buffer.alloc(92)), [], 'no GPT, no entries');
});

t.test('listing devices the way sysfs shows them, and matching specs', async (t) => {
  const dir = t.testdir({ sys: { class: { block: { vda: { vda1: {}, vda2: {}, size: '40960' }, vda1: { partition: '1' }, vda2: { partition: '2' } } } }, dev: {} });
  gptDisk(`${dir}/dev/vda`);
  // The partitions' contents: an ext4 users partition as partition 2, nothing on 1.
  run('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'nodeos-users', '-U', '0b9a3f3e-7c1d-4a55-9e21-5d3c2b1a0f99', `${dir}/dev/vda2`, '8M']);
  writeFileSync(`${dir}/dev/vda1`, Buffer.alloc(4096));
  const devices = listBlockDevices(`${dir}/sys`, `${dir}/dev`);
  const vda2 = devices.find((d) => d.name === 'vda2')!;
  t.match(vda2, { path: `${dir}/dev/vda2`, type: 'ext4', label: 'nodeos-users', partlabel: 'nodeos-users', partuuid: '11223344-5566-7788-99aa-bbccddeeff00' });
  t.match(devices.find((d) => d.name === 'vda1'), { partlabel: 'nodeos-boot', type: undefined });
  for (const spec of ['LABEL=nodeos-users', 'UUID=0B9A3F3E-7C1D-4A55-9E21-5D3C2B1A0F99', 'PARTUUID=11223344-5566-7788-99AA-BBCCDDEEFF00', 'PARTLABEL=nodeos-users']) {
    t.same(devices.filter((d) => matchesSpec(d, spec)).map((d) => d.name), ['vda2'], spec);
  }
  t.ok(matchesSpec({ ...vda2, path: '/dev/vda2' }, '/dev/vda2'));
  t.notOk(matchesSpec(vda2, 'LABEL=other'));
});
