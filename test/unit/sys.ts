// The real addon, loaded in this (non-PID-1) test process: errors look like
// Node's own, and the calls that could end the host refuse to run.
import t from 'tap';
import { closeSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { CLONE, PR, RB, sys } from '../../src/sys';
import { ADDON } from '../../build/paths';
import { OPTIMIZED_PROBE } from '../fixtures/optimized-probe';

t.test('a failing syscall throws code, errno, syscall and path', async (t) => {
  const dir = t.testdir({});
  const err = t.throws(() => sys().mount('none', `${dir}/missing`, 'tmpfs', 0, null)) as NodeJS.ErrnoException;
  t.match(err, { code: 'ENOENT', errno: -2, syscall: 'mount', path: `${dir}/missing` });
  t.match(err.message, `ENOENT: no such file or directory, mount '${dir}/missing'`);
  t.match(t.throws(() => sys().umount2(dir, 0)), { code: 'EINVAL', syscall: 'umount2', path: dir });
});

t.test('finit_module runs on the thread pool; each module its own error, like Node\'s, and time', async (t) => {
  const dir = t.testdir({ 'bad.ko': 'not an ELF module' });
  const [missing, bad] = await sys().finitModules([
    [`${dir}/none.ko`, '', 0],
    [`${dir}/bad.ko`, '', 0],
  ]);
  t.match(missing, [{ code: 'ENOENT', errno: -2, syscall: 'open', path: `${dir}/none.ko` }, Number]);
  // Not a module: the kernel refuses it (ENOEXEC), or refuses us outright (EPERM without CAP_SYS_MODULE; ENOSYS on a kernel without modules, as here); the first failure did not stop it being tried.
  t.match(bad, [{ syscall: 'finit_module', path: `${dir}/bad.ko`, code: /^(ENOEXEC|EPERM|EINVAL|ENOSYS)$/ }, Number]);
  t.throws(() => (sys() as unknown as { finitModules(x: unknown): unknown }).finitModules([['only a path']]), TypeError);
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

t.test('spawn: posix_spawn with the given fds, environment and session; its exit is for waitpid', async (t) => {
  const input = sys().pipe();
  const output = sys().pipe();
  const script = 'read line; echo "$line $GREETING"; read -r pid comm state ppid pgrp session rest < /proc/$$/stat; echo "$session $$"; while read -r key value; do case $key in SigIgn:|SigBlk:) echo "$key\t$value";; esac; done < /proc/$$/status; exit 7';
  const pid = sys().spawn('/bin/sh', ['sh', '-c', script], ['GREETING=hello'], [input.read, output.write, -1], true);
  closeSync(input.read);
  closeSync(output.write);
  writeSync(input.write, 'from the pipe\n');
  closeSync(input.write);
  const text = readFileSync(output.read, 'utf8'); // to the end: the child held the only write end
  closeSync(output.read);
  const [line, session, ...masks] = text.trim().split('\n');
  t.equal(line, 'from the pipe hello', 'stdin and stdout are the pipes, the environment only what was given');
  t.equal(session, `${pid} ${pid}`, 'a session of its own');
  // The shell reads its own status with builtins: a child (grep) would race
  // dash's wait, which blocks every signal around its sigsuspend.
  // Signals 1–31: glibc keeps its own three (32–34) out of every signal set, so they stay as they were.
  const standard = (line: string) => BigInt(`0x${line.split('\t')[1]}`) & 0x7fffffffn; // bits 0–30
  t.same(masks.sort().map(standard), [0n, 0n], 'no signal blocked or ignored (this node ignores SIGPIPE)');
  t.same(sys().waitpid(pid, 0), { pid, code: 7, signal: null });
  t.match(t.throws(() => sys().spawn('/nonexistent', ['x'], [], [], false)), { code: 'ENOENT', syscall: 'posix_spawn', path: '/nonexistent' });
  t.throws(() => sys().spawn('/bin/true', ['true'], [], [-1, 0], false), TypeError, 'a source fd that an earlier dup2 could overwrite');
});

t.test('prctl sets no_new_privs for this process', async (t) => {
  t.equal(sys().prctl(PR.GET_NO_NEW_PRIVS, 0), 0);
  sys().prctl(PR.SET_NO_NEW_PRIVS, 1);
  t.equal(sys().prctl(PR.GET_NO_NEW_PRIVS, 0), 1);
  t.match(readFileSync('/proc/self/status', 'utf8'), /NoNewPrivs:\s+1/);
});

t.test('setV8Flags sets V8 flags in this node, as node:v8 would (PID 1 turns its optimizing compilers off with it)', async (t) => {
  // In a node of its own: flags are for the whole process. %-calls parse only once the flag allows them.
  const optimized = (flags: string) => execFileSync(process.execPath, ['-e', `
    const addon = { exports: {} };
    process.dlopen(addon, ${JSON.stringify(ADDON)});
    addon.exports.setV8Flags(${JSON.stringify(`--allow-natives-syntax ${flags}`)});
    console.log((0, eval)(${JSON.stringify(OPTIMIZED_PROBE)}) ? 'optimized' : 'not optimized');`], { encoding: 'utf8' }).trim();
  t.equal(optimized(''), 'optimized', 'V8 optimizes a function asked to');
  t.equal(optimized('--no-maglev --no-turbofan'), 'not optimized', 'not once its optimizing compilers are off');
  t.throws(() => sys().setV8Flags(42 as unknown as string), TypeError);
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

t.test('rtnetlink and the device-bound UDP socket, in a private network namespace', async (t) => {
  const hostNet = readlinkSync('/proc/self/ns/net');
  sys().unshare(CLONE.NEWNET);
  // Never touch the host's network: stop here unless the namespace really is new.
  if (readlinkSync('/proc/self/ns/net') === hostNet) throw new Error('unshare left us in the host network namespace');
  const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
  sys().linkSet('lo', true, 0);
  t.match(ip('link', 'show', 'lo'), /<LOOPBACK,UP,LOWER_UP>/, 'link up');
  sys().addressAdd('lo', '10.7.0.1', 24);
  t.match(ip('-4', 'addr', 'show', 'lo'), /inet 10\.7\.0\.1\/24 brd 10\.7\.0\.255 scope global lo/, 'address with its broadcast');
  t.match(t.throws(() => sys().addressAdd('lo', '10.7.0.1', 24)), { code: 'EEXIST', syscall: 'RTM_NEWADDR', path: 'lo', message: "EEXIST: file exists, RTM_NEWADDR 'lo'" });
  sys().routeAdd('lo', '0.0.0.0', 0, '10.7.0.254');
  sys().routeAdd('lo', '10.8.0.0', 16, null);
  const routes = ip('-4', 'route');
  t.match(routes, /^default via 10\.7\.0\.254 dev lo/m, "a default route");
  t.match(routes, /^10\.8\.0\.0\/16 dev lo scope link/m, "an on-link route");
  sys().routeDelete('lo', '10.8.0.0', 16, null);
  sys().routeDelete('lo', '0.0.0.0', 0, '10.7.0.254');
  t.equal(ip('-4', 'route').trim(), '', 'routes deleted');
  t.match(t.throws(() => sys().routeDelete('lo', '0.0.0.0', 0, '10.7.0.254')), { code: 'ESRCH', syscall: 'RTM_DELROUTE' });
  sys().addressDelete('lo', '10.7.0.1', 24);
  t.notMatch(ip('-4', 'addr', 'show', 'lo'), /10\.7\.0\.1/, 'address deleted');
  t.match(t.throws(() => sys().linkSet('nope0', true, 0)), { code: 'ENODEV', syscall: 'RTM_NEWLINK', path: 'nope0' });
  const loose = sys() as unknown as Record<string, (...args: unknown[]) => unknown>;
  t.throws(() => loose.addressAdd('lo', 'not-an-ip', 8), TypeError);
  t.throws(() => loose.clockSettime('now'), TypeError, 'clockSettime checks its argument (it is never called here: the clock is the host\'s)');

  const fd = sys().udpBindDevice('lo', 6868);
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind({ fd }, resolve));
  t.same(socket.address(), { address: '0.0.0.0', family: 'IPv4', port: 6868 }, 'node:dgram adopts it');
  const got = new Promise<string>((resolve) => socket.once('message', (m) => resolve(String(m))));
  const sender = createSocket('udp4');
  sender.send('hello', 6868, '127.0.0.1', (err) => t.error(err));
  t.equal(await got, 'hello');
  sender.close();
  socket.close();
  t.match(t.throws(() => sys().udpBindDevice('nope0', 6869)), { code: 'ENODEV', syscall: 'setsockopt', path: 'nope0' });
});
