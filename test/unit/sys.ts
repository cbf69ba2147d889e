// The real addon, loaded in this (non-PID-1) test process: errors look like
// Node's own, and the calls that could end the host refuse to run.
import t from 'tap';
import { existsSync } from 'node:fs';
import { RB, sys } from '../../src/sys';

t.test('a failing syscall throws code, errno, syscall and path', async (t) => {
  const dir = t.testdir({});
  const err = t.throws(() => sys().mount('none', `${dir}/missing`, 'tmpfs', 0, null)) as NodeJS.ErrnoException;
  t.match(err, { code: 'ENOENT', errno: -2, syscall: 'mount', path: `${dir}/missing` });
  t.match(err.message, `ENOENT: no such file or directory, mount '${dir}/missing'`);
  t.match(t.throws(() => sys().umount2(dir, 0)), { code: 'EINVAL', syscall: 'umount2', path: dir });
  t.match(t.throws(() => sys().finitModule(`${dir}/none.ko`, '', 0)), { code: 'ENOENT', syscall: 'open' });
});

t.test('bad arguments are TypeErrors, not syscalls', async (t) => {
  const loose = sys() as unknown as Record<string, (...args: unknown[]) => unknown>;
  t.throws(() => loose.umount2(42, 0), TypeError);
  t.throws(() => loose.reboot('now'), TypeError);
});

t.test('reboot(2) and kill(-1) refuse outside PID 1', { skip: process.pid === 1 && 'running as PID 1' }, async (t) => {
  // Neither call reaches the kernel: the guard answers first. (The values are
  // harmless anyway: an unknown reboot command, and signal 0.)
  t.match(t.throws(() => sys().reboot(0x0badc0de)), { code: 'EPERM', syscall: 'reboot' });
  t.match(t.throws(() => sys().reboot(RB.CAD_ON)), { code: 'EPERM', syscall: 'reboot' });
  t.match(t.throws(() => sys().killAll(0)), { code: 'EPERM', syscall: 'kill' });
});

t.test('waitpid without children says ECHILD; sync and prctl work', async (t) => {
  t.match(t.throws(() => sys().waitpid(999_999, 1)), { code: 'ECHILD', syscall: 'waitpid' });
  sys().sync();
  const PR_GET_NO_NEW_PRIVS = 39;
  t.equal(sys().prctl(PR_GET_NO_NEW_PRIVS, 0), 0);
  t.ok(existsSync('/proc/self'));
});
