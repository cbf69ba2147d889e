// User discovery and limits, on real folders with real owners (the tests run as root).
import t from 'tap';
import { chownSync, mkdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DEFAULT_ACCOUNT_POLICY, discoverUsers, escapeName, findAccount, toBytes, userLimits } from '../../src/users';
import { ownerCommands, parseOwner, buildUsersImage, refusedFolders } from '../../build/users-image';

function home(root: string, name: string, uid: number, init?: string | { symlink: string }, mode = 0o755, gid = uid): string {
  const dir = join(root, name);
  mkdirSync(dir);
  if (typeof init === 'string') writeFileSync(join(dir, 'init'), init, { mode });
  else if (init) symlinkSync(init.symlink, join(dir, 'init'));
  execFileSync('chown', ['-hR', `${uid}:${gid}`, dir]);
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

  const { users, skipped } = discoverUsers(DEFAULT_ACCOUNT_POLICY, root);
  t.same(
    users.map((u) => [u.name, u.uid, u.gid, u.init]),
    [
      ['root', 0, 0, join(root, 'root', 'init')],
      ['alice', 1000, 1000, join(root, 'alice', 'init')],
      ['linked', 1007, 1007, join(root, 'linked', 'real-init')],
      ['zoe', 1003, 1003, join(root, 'zoe', 'init')],
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

t.test('who may run as whom: root only as the folder root, no system uids, own groups unless allowed', async (t) => {
  const root = t.testdir();
  const init = '#!/bin/node\n';
  home(root, 'root', 1000, init); // a folder named root does not make its owner root, nor is it started as 1000
  home(root, 'admin', 0, init); // owned by root, under another name
  home(root, 'daemon', 1, init);
  home(root, 'www', 33, init);
  home(root, 'wheel', 1001, init, 0o755, 0);
  home(root, 'shared', 1002, init, 0o755, 100);
  home(root, 'floor', 1000, init);
  mkdirSync(join(root, 'target'));
  symlinkSync('target', join(root, 'link'));

  const strict = discoverUsers(DEFAULT_ACCOUNT_POLICY, root);
  t.same(strict.users.map((u) => u.name), ['floor'], 'only the ordinary user starts');
  t.same(strict.skipped.sort(), [
    'admin: owned by 0:0: only the folder named root runs as root; refused',
    'daemon: owned by uid 1, a system uid (below nodeos.uid_min=1000): refused',
    'link: a symlink, not a folder',
    'root: owned by 1000:1000, not 0:0: refused',
    'shared: its group 100 is not its uid 1002 (nodeos.user_gids=any allows that): refused',
    'target: owned by 0:0: only the folder named root runs as root; refused',
    'wheel: owned by 1001:0: only the folder named root runs as root; refused',
    'www: owned by uid 33, a system uid (below nodeos.uid_min=1000): refused',
  ]);
  const relaxed = discoverUsers({ uidMin: 30, anyGid: true }, root);
  t.same(relaxed.users.map((u) => [u.name, u.uid, u.gid]), [['floor', 1000, 1000], ['shared', 1002, 100], ['www', 33, 33]], 'a lower floor and other groups when configured; never gid 0');
  // Logging in follows the same rules: no account for a folder that may not be one.
  t.same(findAccount('floor', DEFAULT_ACCOUNT_POLICY, root), { name: 'floor', uid: 1000, gid: 1000, home: join(root, 'floor') });
  for (const name of ['root', 'admin', 'daemon', 'wheel', 'shared', 'link', '.', '..', 'floor/..', 'lost+found', '']) t.equal(findAccount(name, DEFAULT_ACCOUNT_POLICY, root), undefined, `no account: ${JSON.stringify(name)}`);
});

t.test('users-image names the folders PID 1 will refuse, with --owner applied', async (t) => {
  const dir = t.testdir({ alice: {}, admin: {}, '.hidden': {}, 'lost+found': {} });
  execFileSync('chown', ['1000:1000', join(dir, 'alice')]);
  t.same(refusedFolders(dir, { admin: { uid: 1001, gid: 1001 } }), [], 'lost+found and dot-folders are not users; --owner makes admin an ordinary user');
  t.same(refusedFolders(dir, {}), ['admin: owned by 0:0: only the folder named root runs as root; refused']);
});

t.test('names: hidden, unprintable, not UTF-8 or too long are skipped with the name escaped', async (t) => {
  const root = t.testdir();
  const names = ['bell\x07', 'tab\there', 'new\nline', 'x'.repeat(33), 'élodie', 'back\\slash'];
  for (const name of names) home(root, name, 1000, '#!/bin/node\n');
  const raw = Buffer.concat([Buffer.from(join(root, 'bad')), Buffer.from([0xff, 0xfe])]);
  mkdirSync(raw);
  chownSync(raw, 1000, 1000);
  const { users, skipped } = discoverUsers(DEFAULT_ACCOUNT_POLICY, root);
  t.same(users.map((u) => u.name), ['back\\slash', 'élodie'], 'unusual but printable names are users');
  t.same(skipped.sort(), [
    'bad\\xff\\xfe: the name is not UTF-8',
    'bell\\x07: the name has control characters',
    'new\\x0aline: the name has control characters',
    'tab\\x09here: the name has control characters',
    `${'x'.repeat(33)}: the name is longer than 32 bytes`,
  ]);
  t.equal(escapeName(Buffer.from('a\\b\x1b[31m')), 'a\\x5cb\\x1b[31m', 'escape sequences cannot reach a terminal');
});

t.test('10 000 folders: every one looked at once, the users found', async (t) => {
  const root = t.testdir();
  for (let i = 0; i < 10_000; i++) mkdirSync(join(root, `u${i}`));
  for (const name of ['u42', 'u9999']) writeFileSync(join(root, name, 'init'), '#!/bin/node\n', { mode: 0o755 });
  execFileSync('chown', ['-R', '2000:2000', root]);
  const { users, skipped } = discoverUsers(DEFAULT_ACCOUNT_POLICY, root);
  t.same(users.map((u) => u.name), ['u42', 'u9999']);
  t.equal(skipped.length, 9998);
  t.ok(skipped.every((line) => line.endsWith(': no init')));
});

t.test('limits: the system value, lowered but never raised by ~/.nodeos/config.json', async (t) => {
  const root = t.testdir({
    plain: {},
    lower: { '.nodeos': { 'config.json': '{"memoryMax": "64M", "pidsMax": 10, "diskMax": "100M"}' } },
    higher: { '.nodeos': { 'config.json': '{"memoryMax": "max", "pidsMax": "max", "diskMax": "90%"}' } },
    broken: { '.nodeos': { 'config.json': '{"memoryMax": "lots", "pidsMax": 0' } },
    wrong: { '.nodeos': { 'config.json': '{"memoryMax": "lots", "pidsMax": -1, "diskMax": true}' } },
  });
  const system = { memoryMax: '75%', pidsMax: '1024', diskMax: '50%' };
  const total = { memory: 4 * 1024 ** 3, disk: 1024 ** 3 };
  t.same(userLimits(join(root, 'plain'), system, total), { limits: { memoryMax: String(3 * 1024 ** 3), pidsMax: '1024', diskMax: String(512 * 1024 ** 2) }, problems: [] });
  t.same(userLimits(join(root, 'lower'), system, total).limits, { memoryMax: String(64 * 1024 ** 2), pidsMax: '10', diskMax: String(100 * 1024 ** 2) });
  t.same(userLimits(join(root, 'higher'), system, total).limits, { memoryMax: String(3 * 1024 ** 3), pidsMax: '1024', diskMax: String(512 * 1024 ** 2) });
  t.match(userLimits(join(root, 'broken'), system, total).problems, [/config.json: .*JSON/]);
  t.same(userLimits(join(root, 'wrong'), system, total).problems, ['.nodeos/config.json: memoryMax "lots" is not a size', '.nodeos/config.json: diskMax true is not a size', '.nodeos/config.json: pidsMax -1 is not a count']);
  t.same(userLimits(join(root, 'plain'), { memoryMax: 'max', pidsMax: 'max', diskMax: 'max' }, total).limits, { memoryMax: 'max', pidsMax: 'max', diskMax: 'max' });
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
  const groups = execFileSync('dumpe2fs', [image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter((l) => /^Group \d+:/.test(l));
  t.ok(groups.length > 1 && groups.every((l) => l.includes('ITABLE_ZEROED')), 'every inode table is marked zeroed: no ext4lazyinit at the first boot');
  t.equal(statSync(image).size, 16 * 1024 * 1024, 'the image has the size asked for');
  execFileSync('e2fsck', ['-fn', image], { stdio: 'ignore' });
});
