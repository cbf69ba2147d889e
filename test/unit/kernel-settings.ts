// The boot's sysctls, written into a folder laid out like /proc/sys.
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applySysctls, setOomScoreAdj, SYSCTLS, userNamespaceSysctls } from '../../src/kernel-settings';
import { memoryLog } from '../fixtures/fake-sys';

t.test('user namespaces: Debian\'s switch when there is one, else the count, else nothing; allowed on request', async (t) => {
  const dir = t.testdir({
    debian: { kernel: { unprivileged_userns_clone: '1\n' }, user: { max_user_namespaces: '63000\n' } },
    other: { kernel: {}, user: { max_user_namespaces: '63000\n' } },
    none: { kernel: {} },
  });
  const [debian, other, none] = ['debian', 'other', 'none'].map((name) => join(dir, name));
  t.same(userNamespaceSysctls(false, debian).map((s) => [s.key, s.value]), [['kernel/unprivileged_userns_clone', '0']]);
  t.same(userNamespaceSysctls(false, other).map((s) => [s.key, s.value]), [['user/max_user_namespaces', '0']]);
  t.match(userNamespaceSysctls(false, other)[0].why, /root's included/);
  t.same(userNamespaceSysctls(false, none), [], 'a kernel without user namespaces');
  t.same(userNamespaceSysctls(true, debian), [], 'nodeos.userns=1');
});

t.test('every setting written; one the kernel lacks is a warning and the rest still apply', async (t) => {
  const dir = t.testdir({ fs: { protected_hardlinks: '0', protected_symlinks: '0', protected_fifos: '0', protected_regular: '0' } }); // no kernel/: this kernel lacks those
  const log = memoryLog();
  applySysctls(SYSCTLS, log, dir);
  t.equal(readFileSync(join(dir, 'fs/protected_hardlinks'), 'utf8'), '1');
  t.equal(readFileSync(join(dir, 'fs/protected_regular'), 'utf8'), '2');
  t.same(log.lines.filter((line) => !line.startsWith('debug')), [
    "warn: kernel.dmesg_restrict=1 not set (the kernel log is root's): ENOENT",
    'warn: kernel.kptr_restrict=1 not set (no kernel addresses for users): ENOENT',
    'info: sysctl: fs.protected_hardlinks=1 fs.protected_symlinks=1 fs.protected_fifos=2 fs.protected_regular=2',
  ]);
});

t.test('oom_score_adj: written, or why not', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'oom_score_adj');
  writeFileSync(file, '0');
  t.equal(setOomScoreAdj(-1000, file), undefined);
  t.equal(readFileSync(file, 'utf8'), '-1000');
  mkdirSync(join(dir, 'gone'));
  t.equal(setOomScoreAdj(0, join(dir, 'gone', 'x', 'oom_score_adj')), 'ENOENT');
});
