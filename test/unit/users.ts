// User discovery and limits, on real folders with real owners (the tests run as root).
import t from 'tap';
import { chownSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { discoverUsers, toBytes, userLimits } from '../../src/users';
import { ownerCommands, parseOwner, buildUsersImage } from '../../build/users-image';

function home(root: string, name: string, uid: number, init?: string | { symlink: string }, mode = 0o755): string {
  const dir = join(root, name);
  mkdirSync(dir);
  if (typeof init === 'string') writeFileSync(join(dir, 'init'), init, { mode });
  else if (init) symlinkSync(init.symlink, join(dir, 'init'));
  execFileSync('chown', ['-hR', `${uid}:${uid + 5}`, dir]);
  return dir;
}

t.test('each top-level folder is a user: owner → uid/gid, root first, checked init', async (t) => {
  const root = t.testdir();
  home(root, 'zoe', 1003, '#!/bin/node\n');
  home(root, 'root', 0, '#!/bin/node\n');
  home(root, 'alice', 1000, '#!/bin/node\n');
  home(root, 'noinit', 1004);
  home(root, 'notexec', 1005, '#!/bin/node\n', 0o644);
  home(root, 'escape', 1006, { symlink: '/bin/sh' });
  const inside = home(root, 'linked', 1007, '#!/bin/node\n');
  execFileSync('mv', [join(inside, 'init'), join(inside, 'real-init')]);
  symlinkSync('real-init', join(inside, 'init'));
  const stolen = home(root, 'stolen', 1008, '#!/bin/node\n');
  chownSync(join(stolen, 'init'), 0, 0);
  home(root, 'dangling', 1009, { symlink: 'nowhere' });
  mkdirSync(join(root, '.config'));
  mkdirSync(join(root, 'lost+found'));
  writeFileSync(join(root, 'file'), '');

  const { users, skipped } = discoverUsers(root);
  t.same(
    users.map((u) => [u.name, u.uid, u.gid, u.init]),
    [
      ['root', 0, 5, join(root, 'root', 'init')],
      ['alice', 1000, 1005, join(root, 'alice', 'init')],
      ['linked', 1007, 1012, join(root, 'linked', 'real-init')],
      ['zoe', 1003, 1008, join(root, 'zoe', 'init')],
    ],
  );
  t.same(skipped.sort(), [
    'dangling: init is a dangling symlink',
    `escape: init leads out of the home (${realpathSync('/bin/sh')}): refused`,
    'file: not a folder',
    'noinit: no init',
    'notexec: init is not executable by its owner',
    'stolen: init is owned by uid 0, not by the user (1008)',
  ]);
});

t.test('limits: the system value, lowered but never raised by ~/.nodeos/config.json', async (t) => {
  const root = t.testdir({
    plain: {},
    lower: { '.nodeos': { 'config.json': '{"memoryMax": "64M", "pidsMax": 10}' } },
    higher: { '.nodeos': { 'config.json': '{"memoryMax": "max", "pidsMax": "max"}' } },
    broken: { '.nodeos': { 'config.json': '{"memoryMax": "lots", "pidsMax": 0' } },
    wrong: { '.nodeos': { 'config.json': '{"memoryMax": "lots", "pidsMax": -1}' } },
  });
  const system = { memoryMax: '75%', pidsMax: '1024' };
  const total = 4 * 1024 ** 3;
  t.same(userLimits(join(root, 'plain'), system, total), { limits: { memoryMax: String(3 * 1024 ** 3), pidsMax: '1024' }, problems: [] });
  t.same(userLimits(join(root, 'lower'), system, total).limits, { memoryMax: String(64 * 1024 ** 2), pidsMax: '10' });
  t.same(userLimits(join(root, 'higher'), system, total).limits, { memoryMax: String(3 * 1024 ** 3), pidsMax: '1024' });
  t.match(userLimits(join(root, 'broken'), system, total).problems, [/config.json: .*JSON/]);
  t.same(userLimits(join(root, 'wrong'), system, total).problems, ['.nodeos/config.json: memoryMax "lots" is not a size', '.nodeos/config.json: pidsMax -1 is not a count']);
  t.same(userLimits(join(root, 'plain'), { memoryMax: 'max', pidsMax: 'max' }, total).limits, { memoryMax: 'max', pidsMax: 'max' });
});

t.test('sizes', async (t) => {
  t.equal(toBytes('512', 0), 512);
  t.equal(toBytes('4K', 0), 4096);
  t.equal(toBytes('3G', 0), 3 * 1024 ** 3);
  t.equal(toBytes('50%', 1000), 500);
  t.equal(toBytes('max', 0), Infinity);
  t.ok(Number.isNaN(toBytes('1T', 0)));
});

t.test('users-image: --owner sets a folder and all it holds, without root', async (t) => {
  const dir = t.testdir({ tree: { alice: { init: '#!/bin/node\n', sub: { 'a file': 'x' } }, bob: { init: '' } } });
  t.same(parseOwner('alice=1000:100'), ['alice', { uid: 1000, gid: 100 }]);
  t.throws(() => parseOwner('alice=1000'), /expected NAME=UID:GID/);
  t.same(ownerCommands(join(dir, 'tree'), { bob: { uid: 7, gid: 8 } }), [
    'set_inode_field "/bob" uid 7',
    'set_inode_field "/bob" gid 8',
    'set_inode_field "/bob/init" uid 7',
    'set_inode_field "/bob/init" gid 8',
  ]);
  const image = join(dir, 'users.img');
  buildUsersImage(join(dir, 'tree'), image, { size: '16M', label: 'nodeos-users', owners: { alice: { uid: 1000, gid: 100 } } });
  const stat = (path: string) => execFileSync('debugfs', ['-R', `stat "${path}"`, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  for (const path of ['/alice', '/alice/init', '/alice/sub', '/alice/sub/a file']) t.match(stat(path), /User:\s+1000\s+Group:\s+100\s/, path);
  t.match(stat('/bob'), /User:\s+0\s+Group:\s+0\s/, 'other folders keep their owner');
  t.match(execFileSync('dumpe2fs', ['-h', image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), /Filesystem volume name:\s+nodeos-users/);
  execFileSync('e2fsck', ['-fn', image], { stdio: 'ignore' });
});
