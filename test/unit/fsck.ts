// Checking the users partition before mounting: the host's e2fsck on real
// ext4 images, clean, repairable by preen, and damaged beyond it.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFilesystem, fsckVerdict } from '../../src/fsck';
import { memoryLog } from '../fixtures/fake-sys';

const E2FSCK = '/sbin/e2fsck';

function image(dir: string, name: string, damage?: string): string {
  const path = join(dir, name);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', join(dir, 'tree'), path, '8M']);
  if (damage) execFileSync('debugfs', ['-w', '-f', '-', path], { input: `${damage}\nssv state 2\n`, stdio: ['pipe', 'ignore', 'ignore'] });
  return path;
}

t.test('e2fsck exit statuses: what they mean for mounting', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 8, 12, 16, 32, 128, null].map(fsckVerdict), ['clean', 'repaired', 'repaired', 'repaired', 'damaged', 'damaged', 'unchecked', 'unchecked', 'unchecked', 'unchecked', 'unchecked', 'unchecked']);
});

t.test('clean, repaired by preen, damaged beyond it, not ext, no e2fsck', async (t) => {
  const dir = t.testdir({ tree: { a: { one: 'one\n', two: 'two\n' } } });
  const log = memoryLog();
  t.equal(await checkFilesystem(image(dir, 'clean.img'), 'ext4', log, E2FSCK), true);
  t.match(log.lines.pop(), /^info: .*clean\.img: checked, clean: .*clean, \d+\/\d+ files/);
  t.equal(await checkFilesystem(image(dir, 'freed.img', 'freeb 100 10'), 'ext4', log, E2FSCK), true, 'preen fixes block bitmaps');
  t.match(log.lines.pop(), /^warn: .*freed\.img: e2fsck repaired it: /);
  const damaged = image(dir, 'damaged.img', 'clri /a');
  t.equal(await checkFilesystem(damaged, 'ext4', log, E2FSCK), false, 'a cleared folder inode is not for preen');
  t.match(log.lines.pop(), new RegExp(`^error: ${damaged}: errors e2fsck -p cannot fix: .*UNEXPECTED INCONSISTENCY.*Left unmounted: in the REPL run fsck\\('${damaged}'\\)`));
  t.equal(await checkFilesystem(damaged, 'vfat', log, E2FSCK), true, 'other filesystems are not e2fsck\'s');
  t.equal(log.lines.length, 0);
  t.equal(await checkFilesystem(damaged, 'ext4', log, join(dir, 'no-e2fsck')), true);
  t.match(log.lines.pop(), /^warn: .*damaged\.img: not checked: no .*no-e2fsck in this image/);
});

t.test('an e2fsck that hangs is killed at the timeout and the partition mounted unchecked; one that cannot start too', async (t) => {
  const dir = t.testdir();
  const hung = join(dir, 'e2fsck');
  writeFileSync(hung, '#!/bin/sh\necho "checking $2"\nexec sleep 60\n');
  chmodSync(hung, 0o755);
  const log = memoryLog();
  t.equal(await checkFilesystem('/dev/vdz', 'ext4', log, hung, 300), true);
  t.match(log.lines.pop(), /^warn: .*\/dev\/vdz: e2fsck could not check it \(no verdict in 0\.3 s: killed\): checking \/dev\/vdz; mounting it anyway/);
  const broken = join(dir, 'not-a-program');
  writeFileSync(broken, 'not a program');
  chmodSync(broken, 0o755);
  t.equal(await checkFilesystem('/dev/vdz', 'ext4', log, broken), true);
  t.match(log.lines.pop(), /^warn: .*\/dev\/vdz: e2fsck could not check it \(.*\); mounting it anyway/);
});
