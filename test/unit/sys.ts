// The real addon, loaded in this (non-PID-1) test process: errors look like
// Node's own, and the calls that could end the host refuse to run.
import t from 'tap';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { execFileSync } from 'node:child_process';
import { CLONE, PR, RB, sys } from '../../src/sys';

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

t.test('waitpid without children says ECHILD; sync works', async (t) => {
  t.match(t.throws(() => sys().waitpid(999_999, 1)), { code: 'ECHILD', syscall: 'waitpid' });
  sys().sync();
});

t.test('prctl sets no_new_privs for this process', async (t) => {
  t.equal(sys().prctl(PR.GET_NO_NEW_PRIVS, 0), 0);
  sys().prctl(PR.SET_NO_NEW_PRIVS, 1);
  t.equal(sys().prctl(PR.GET_NO_NEW_PRIVS, 0), 1);
  t.match(readFileSync('/proc/self/status', 'utf8'), /NoNewPrivs:\s+1/);
});

t.test('unshare + sethostname change only this process', async (t) => {
  const hostUts = readlinkSync('/proc/self/ns/uts');
  sys().unshare(CLONE.NEWUTS);
  // Never touch the host's name: stop here unless the namespace really is new.
  if (readlinkSync('/proc/self/ns/uts') === hostUts) throw new Error('unshare left us in the host UTS namespace');
  t.equal(readlinkSync(`/proc/${process.ppid}/ns/uts`), hostUts, 'the parent (the host) stays in its own');
  sys().sethostname('nodeos-unit');
  t.equal(hostname(), 'nodeos-unit');
  t.equal(execFileSync('cat', ['/proc/sys/kernel/hostname'], { encoding: 'utf8' }).trim(), 'nodeos-unit', 'children share the new namespace');
});
