import { spawnSync } from 'node:child_process';
import t from 'tap';
import { cpioBuffer, withParents, type CpioEntry } from '../../initramfs/cpio';
import { BOOT_PATH, INIT_PATH, initramfsArchives, initramfsEntries } from '../../initramfs/layout';

const sample: CpioEntry[] = withParents([
  { type: 'file', path: '/bin/node', mode: 0o755, data: Buffer.from('#!fake\n') },
  { type: 'symlink', path: 'init', target: 'lib/nodeos/init.js' },
  { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
  { type: 'file', path: 'home/user/data', mode: 0o640, data: Buffer.from('odd'), uid: 1000, gid: 100 },
  { type: 'dir', path: 'tmp', mode: 0o1777 },
]);

// GNU cpio, an implementation that is not ours, reads the archive back.
function cpioList(archive: Buffer): string[] {
  const result = spawnSync('cpio', ['-itv', '--quiet', '--numeric-uid-gid'], { input: archive, encoding: 'utf8' });
  if (result.error) throw new Error(`cpio is needed for this test (apt-get install cpio): ${result.error.message}`);
  if (result.status !== 0) throw new Error(result.stderr);
  // mode, links, uid, gid, size-or-device, date (3 fields), name [-> target]
  return result.stdout
    .trim()
    .split('\n')
    .map((line) =>
      line
        .replace(/(\d+), +(\d+)/, '$1,$2')
        .split(/\s+/)
        .filter((_, i) => ![1, 5, 6, 7].includes(i))
        .join(' '),
    );
}

t.test('GNU cpio reads every kind of entry back, sorted, with owners and devices', async (t) => {
  t.same(cpioList(cpioBuffer(sample, 0)), [
    'drwxr-xr-x 0 0 0 bin',
    '-rwxr-xr-x 0 0 7 bin/node',
    'drwxr-xr-x 0 0 0 dev',
    'crw------- 0 0 5,1 dev/console',
    'drwxr-xr-x 0 0 0 home',
    'drwxr-xr-x 0 0 0 home/user',
    '-rw-r----- 1000 100 3 home/user/data',
    'lrwxrwxrwx 0 0 18 init -> lib/nodeos/init.js',
    'drwxrwxrwt 0 0 0 tmp',
  ]);
});

t.test('newc framing: magic, 4-byte alignment, trailer', async (t) => {
  const archive = cpioBuffer(sample, 0);
  t.equal(archive.subarray(0, 6).toString(), '070701');
  t.equal(archive.length % 4, 0);
  t.match(archive.subarray(-124).toString(), /TRAILER!!!\0/);
  let offset = 0;
  const names: string[] = [];
  while (offset < archive.length) {
    const head = archive.subarray(offset, offset + 110).toString('ascii');
    t.equal(head.slice(0, 6), '070701', `magic at ${offset}`);
    const field = (i: number) => parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
    const [size, nameSize] = [field(6), field(11)];
    names.push(archive.subarray(offset + 110, offset + 110 + nameSize - 1).toString());
    offset += Math.ceil((110 + nameSize) / 4) * 4 + Math.ceil(size / 4) * 4;
  }
  t.equal(offset, archive.length);
  t.equal(names.at(-1), 'TRAILER!!!');
  t.same(names.slice(0, -1), [...names.slice(0, -1)].sort(), 'sorted');
});

t.test('same inputs, same bytes; SOURCE_DATE_EPOCH sets every mtime', async (t) => {
  t.ok(cpioBuffer(sample, 1700000000).equals(cpioBuffer([...sample].reverse(), 1700000000)));
  t.notOk(cpioBuffer(sample, 1).equals(cpioBuffer(sample, 2)));
  const mtime = cpioBuffer(sample, 0x65000000).subarray(6 + 5 * 8, 6 + 6 * 8).toString();
  t.equal(mtime, '65000000');
});

t.test('bad archives are refused', async (t) => {
  const file: CpioEntry = { type: 'file', path: 'a', mode: 0o644, data: Buffer.alloc(0) };
  t.throws(() => cpioBuffer([file, { ...file, path: '/a' }], 0), /duplicate path a/);
  t.throws(() => cpioBuffer([{ ...file, path: '/' }], 0), /empty path/);
});

t.test('the NodeOS layout: /init → the loader beside the bundle and its compile cache, node, console, mount points', async (t) => {
  const entries = initramfsEntries({
    node: Buffer.from('node'),
    libs: [{ path: '/lib64/ld-linux-x86-64.so.2', data: Buffer.from('ld') }],
    boot: Buffer.from('#!/bin/node\n'),
    init: Buffer.from('bundle'),
    compileCache: [{ type: 'file', path: 'lib/nodeos/compile-cache/v/1', mode: 0o644, data: Buffer.from('v8') }],
    addon: Buffer.from('addon'),
  });
  const listing = cpioList(cpioBuffer(entries, 0));
  for (const expected of [
    `lrwxrwxrwx 0 0 18 init -> ${BOOT_PATH}`,
    '-rwxr-xr-x 0 0 4 bin/node',
    `-rwxr-xr-x 0 0 12 ${BOOT_PATH}`,
    `-rwxr-xr-x 0 0 6 ${INIT_PATH}`,
    '-rw-r--r-- 0 0 2 lib/nodeos/compile-cache/v/1',
    '-rwxr-xr-x 0 0 5 lib/nodeos/nodeos.node',
    '-rwxr-xr-x 0 0 2 lib64/ld-linux-x86-64.so.2',
    'crw------- 0 0 5,1 dev/console',
    'crw-rw-rw- 0 0 1,3 dev/null',
    'drwxr-xr-x 0 0 0 proc',
    'drwxr-xr-x 0 0 0 sys',
    'drwxr-xr-x 0 0 0 run',
    'drwxrwxrwt 0 0 0 tmp',
  ]) {
    t.ok(listing.includes(expected), expected);
  }
});

t.test("two archives: the packages first, then all that our sources build, the compile cache's folders with it", async (t) => {
  const [packages, ours] = initramfsArchives({
    node: Buffer.from('node'),
    libs: [],
    sh: Buffer.from('sh'),
    boot: Buffer.from('#!/bin/node\n'),
    init: Buffer.from('bundle'),
    compileCache: [
      { type: 'dir', path: 'lib/nodeos/compile-cache/v24-x64-flags', mode: 0o755 },
      { type: 'file', path: 'lib/nodeos/compile-cache/v24-x64-flags/1', mode: 0o644, data: Buffer.from('v8') },
    ],
  });
  const paths = (entries: CpioEntry[]) => entries.map((e) => e.path);
  t.ok(paths(packages).includes('bin/node'));
  t.notOk(paths(packages).some((p) => p.startsWith('lib/nodeos/') || p === 'bin/sh'), 'nothing of ours in the first');
  t.same(paths(ours), ['bin', 'bin/sh', 'lib', 'lib/nodeos', 'lib/nodeos/boot.js', 'lib/nodeos/compile-cache', 'lib/nodeos/compile-cache/v24-x64-flags', 'lib/nodeos/compile-cache/v24-x64-flags/1', 'lib/nodeos/init.js']);
});
