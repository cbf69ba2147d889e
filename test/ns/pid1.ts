// PID 1 as PID 1: real mounts, real children, real signals, in namespaces.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { bootNamespace, writeRootTree } from '../fixtures/namespace';
import { OPTIMIZED_PROBE } from '../fixtures/optimized-probe';

const BOOT_MS = 30_000;

t.test('one boot: mounts, hostname, reaping, exit codes, survival, then SIGTERM → reboot', async (t) => {
  const dir = t.testdir({ tree: {}, root: {} });
  const tree = await writeRootTree(`${dir}/tree`);
  const pid1 = bootNamespace(tree, `${dir}/root`, 'console=ttyS0 nodeos.rootwait=0 nodeos.hostname=ns-test nodeos.loglevel=debug nodeos.shutdown_timeout=700 nodeos.bogus=1');
  t.teardown(() => pid1.child.kill('SIGKILL'));

  await pid1.expect('unknown parameter nodeos.bogus', BOOT_MS);
  await pid1.expect('no users partition LABEL=nodeos-users after 0 s; searched', BOOT_MS);
  await pid1.expect('this system is ephemeral', BOOT_MS);
  await pid1.expect(/ready in \d+ ms/, BOOT_MS);
  await pid1.expect('nodeos> ', BOOT_MS);

  t.equal(await pid1.value('process.pid'), 1, 'runs as PID 1');
  // Loopback only, no name server: nothing has needed Node's resolver (c-ares), so it was not loaded.
  t.notOk(await pid1.value("process.moduleLoadList.includes('NativeModule dns')"), 'node:dns waits for a name server');
  // PID 1 runs lean (src/boot.ts): its #! line's option, and no optimizing compilers, yet WebAssembly stays, so fetch works at its REPL.
  t.same(await pid1.value('process.execArgv'), ['--optimize-for-size'], "/init's #! option");
  const optimized = `(require('v8').setFlagsFromString('--allow-natives-syntax'), (0, eval)(${JSON.stringify(OPTIMIZED_PROBE)}))`;
  t.equal(await pid1.value(optimized), false, 'a function V8 is asked to optimize stays at the baseline compiler');
  const fetched = `new Promise((resolve, reject) => { const server = http.createServer((q, r) => r.end('fetched')).listen(0, '127.0.0.1', () =>
      fetch('http://127.0.0.1:' + server.address().port).then((r) => r.text()).then(resolve, reject).finally(() => server.close())); })`;
  t.equal(await pid1.value(fetched.replace(/\n\s*/g, ' ')), 'fetched', 'fetch (WebAssembly) works in PID 1');
  t.equal(await pid1.value("require('os').hostname()"), 'ns-test', 'hostname from nodeos.hostname=');
  const targets = await pid1.value<string[]>('mounts().map((m) => m.target)');
  for (const target of ['/proc', '/sys', '/dev', '/dev/pts', '/dev/shm', '/run', '/tmp']) t.ok(targets.includes(target), `${target} is mounted`);
  t.match(await pid1.value("mounts().find((m) => m.target === '/tmp')"), { fstype: 'tmpfs', options: /nosuid,nodev/ });

  // child_process keeps its exit codes while orphans die all around it.
  const codes = await pid1.value<number[]>(`Promise.all([0, 1, 7, 42, 255].map((code) => new Promise((resolve) => {
      const grandchild = "require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 100)'], { detached: true, stdio: 'ignore' }).unref()";
      child_process.spawn(process.execPath, ['-e', grandchild + '; process.exitCode = ' + code]).on('exit', (c) => resolve(c));
    })))`.replace(/\n\s*/g, ' '));
  t.same(codes, [0, 1, 7, 42, 255], 'every child_process exit code arrives intact');
  const signalled = await pid1.value("new Promise((resolve) => child_process.spawn(process.execPath, ['-e', 'process.kill(process.pid, 9)']).on('exit', (code, signal) => resolve([code, signal])))");
  t.same(signalled, [null, 'SIGKILL']);
  t.equal(await pid1.value("child_process.execFileSync(process.execPath, ['-p', '6*7'], { encoding: 'utf8' }).trim()"), '42', 'sync spawns work');

  // The five double-forked grandchildren were re-parented to us and reaped.
  await pid1.seen(/(reaper: reaped \S+ \(\d+\): exit code 0[\s\S]*){5}/, 20_000);
  t.same(await pid1.value("ps().filter((p) => p.state === 'Z')"), [], 'no zombies');

  // PID 1 survives what would end any other Node program. Errors from REPL
  // code are the REPL's to report; errors outside it reach PID 1's own guard.
  pid1.send("setTimeout(() => { throw new Error('boom') }, 10)\n");
  await pid1.expect('Uncaught Error: boom', 10_000);
  pid1.send("process.once('SIGCHLD', () => { throw new Error('outside') }); child_process.spawn(process.execPath, ['-e', '0']); 0\n");
  await pid1.expect('uncaught exception (survived): Error: outside', 10_000);
  pid1.send("process.once('SIGCHLD', () => Promise.reject(new Error('nope'))); child_process.spawn(process.execPath, ['-e', '0']); 0\n");
  await pid1.expect('unhandled rejection (survived): Error: nope', 10_000);
  pid1.send('process.exit(3)\n');
  await pid1.expect('process.exit(3) refused', 10_000);
  pid1.send('.exit\n');
  await pid1.expect('REPL closed; opening a new one', 10_000);
  t.equal(await pid1.value('1 + 1'), 2, 'still answering after all that');

  // A disk kept busy by PID 1 itself (a file the REPL left open for writing) and by a process that is there to the end (its cwd):
  // at shutdown PID 1 closes its own file, names the holder, remounts the disk read-only, and it is left clean.
  const image = `${dir}/busy.img`;
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', image, '8M']);
  const loop = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  t.teardown(() => spawnSync('losetup', ['-d', loop]));
  await pid1.eval(`(() => {
      const addon = { exports: {} };
      process.dlopen(addon, '/lib/nodeos/nodeos.node');
      fs.mkdirSync('/mnt', { recursive: true });
      addon.exports.mount('${loop}', '/mnt', 'ext4', 0, null);
      globalThis.held = fs.openSync('/mnt/held', 'w');
      fs.writeSync(held, 'synced');
      fs.fsyncSync(held);
      process.chdir('/mnt');
    })()`.replace(/\n\s*/g, ' '));

  // A process that ignores SIGTERM is killed after the grace period.
  await pid1.eval("child_process.spawn(process.execPath, ['-e', \"process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)\"], { detached: true, stdio: 'ignore' }).unref()");
  await new Promise((r) => setTimeout(r, 500));
  process.kill(pid1.hostPid(), 'SIGTERM');
  const steps = [
    'shutdown: reboot requested',
    'shutdown: stopped users, console and own children',
    'shutdown: sent SIGTERM to all processes',
    /shutdown: still running: \S+ \(\d+\)/,
    'shutdown: grace period',
    'shutdown: sending SIGKILL to all (1 still running)',
    'shutdown: SIGKILL to survivors',
    'shutdown: synced filesystems',
    "shutdown: /mnt: closed PID 1's own /mnt/held",
    /shutdown: \/mnt: EBUSY \(held by \S+ \(1\): \/mnt\): remounted read-only/,
    'shutdown: unmounted filesystems',
    'shutdown: synced filesystems',
    'shutdown: calling reboot(2) for reboot',
  ];
  for (const step of steps) await pid1.expect(step, 10_000);
  // reboot(RESTART) inside a PID namespace ends its init with SIGHUP; unshare passes it on.
  t.same(await pid1.exited, { code: null, signal: 'SIGHUP' }, 'the namespace ended as a reboot');
  t.equal(pid1.output.match(/ready in \d+ ms/g)?.length, 1, 'PID 1 never restarted');
  const fsck = spawnSync('e2fsck', ['-fn', loop], { encoding: 'utf8' });
  t.equal(fsck.status, 0, `the busy disk is clean\n${fsck.stdout}`);
  t.equal(execFileSync('debugfs', ['-R', 'cat /held', loop], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 'synced', 'and holds what was synced');
});

t.test('SIGUSR2 powers off (SIGINT from a PID namespace), SIGUSR1 halts', async (t) => {
  const dir = t.testdir({ tree: {}, a: {}, b: {} });
  const tree = await writeRootTree(`${dir}/tree`);
  for (const [signal, action, mnt] of [['SIGUSR2', 'poweroff', 'a'], ['SIGUSR1', 'halt', 'b']] as const) {
    const pid1 = bootNamespace(tree, `${dir}/${mnt}`, 'nodeos.rootwait=0 nodeos.shutdown_timeout=200');
    t.teardown(() => pid1.child.kill('SIGKILL'));
    await pid1.expect('nodeos> ', BOOT_MS);
    process.kill(pid1.hostPid(), signal);
    await pid1.expect(`calling reboot(2) for ${action}`, 10_000);
    t.same(await pid1.exited, { code: null, signal: 'SIGINT' }, `${signal} → ${action}`);
  }
});

t.test('a broken boot (no addon) still gives a working REPL, and PID 1 stays up', async (t) => {
  const dir = t.testdir({ tree: {}, root: {} });
  const tree = await writeRootTree(`${dir}/tree`, { addon: false });
  const pid1 = bootNamespace(tree, `${dir}/root`, 'nodeos.rootwait=0');
  t.teardown(() => pid1.child.kill('SIGKILL'));
  await pid1.expect(/boot failed: Error: sys: addon not found/, BOOT_MS);
  await pid1.expect('starting the emergency REPL', BOOT_MS);
  t.equal(await pid1.value('process.pid'), 1);
  t.equal(await pid1.value('1 + 1'), 2, 'the REPL answers');
  pid1.send('.poweroff\n');
  await pid1.expect('poweroff unavailable: boot failed', 10_000);
  t.equal(await pid1.value("'still here'"), 'still here');
});
