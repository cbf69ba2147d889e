// Faults a supervisor must hold against, with real inits under a real PID 1
// (a container's, in namespaces): a crash loop reaching its cap, an init that
// ignores SIGTERM, a shutdown while a user waits to restart, and a thousand
// SIGTERMs at once. And what the path to ready loaded, users' launches
// included.
import t from 'tap';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootNamespace, writeRootTree } from '../fixtures/namespace';
import { HEAVY_BUILTINS } from '../fixtures/heavy-builtins';

const BOOT_MS = 30_000;
const INITS = {
  loop: [2001, '#!/bin/node\nprocess.exit(1);\n'],
  stubborn: [2002, "#!/bin/node\nprocess.on('SIGTERM', () => console.log('not stopping'));\nsetInterval(() => {}, 1 << 30);\n"],
  flaky: [2003, '#!/bin/node\nsetTimeout(() => process.exit(1), 1500);\n'],
} as const;

t.test('crash-loop cap, SIGTERM ignored, shutdown during backoff, 1000 SIGTERMs: one clean power-off', async (t) => {
  const dir = t.testdir({ tree: {}, root: {} });
  const tree = await writeRootTree(`${dir}/tree`);
  for (const [name, [uid, init]] of Object.entries(INITS)) {
    mkdirSync(join(tree, 'home', name), { recursive: true });
    writeFileSync(join(tree, 'home', name, 'init'), init, { mode: 0o755 });
    for (const path of [join(tree, 'home', name), join(tree, 'home', name, 'init')]) chownSync(path, uid, uid);
  }
  const pid1 = bootNamespace(tree, `${dir}/root`, 'nodeos.restart_delay=100,1000 nodeos.shutdown_timeout=1500 nodeos.loglevel=debug', { container: true });
  t.teardown(() => pid1.child.kill('SIGKILL'));
  await pid1.expect(/ready in \d+ ms/, BOOT_MS);
  // Three inits launched before ready, their launchers' stderr on pipes to PID 1: still none of the heavy built-ins (src/builtins.ts).
  const builtins = (await pid1.expect(/built-in modules at ready: (.*)/, BOOT_MS))[1].split(' ');
  t.same(builtins.filter((m) => HEAVY_BUILTINS.includes(m)), [], `not before ready: ${builtins.join(' ')}`);
  t.ok(builtins.includes('fs'), 'the list is read (the check can fail)');

  // The cap, with a real init failing for real (not a fake clock): ten failures, then no more starts.
  await pid1.expect('users: loop: failed 10 times in 5 minutes (last: code 1); not restarting', BOOT_MS);
  t.equal(pid1.output.match(/users: loop: started/g)?.length, 10, 'loop was started ten times, then left failed');
  t.match(pid1.output, /loop: exited with code 1; restarting in 0\.1 s[\s\S]*restarting in 0\.2 s[\s\S]*restarting in 0\.4 s[\s\S]*restarting in 0\.8 s[\s\S]*restarting in 1 s/, 'the delays of nodeos.restart_delay=100,1000');

  // flaky now waits 1 s between its runs: the shutdown arrives while it waits, as a thousand SIGTERMs.
  await pid1.expect('users: flaky: exited with code 1; restarting in 1 s', BOOT_MS);
  const host = pid1.hostPid();
  for (let i = 0; i < 1000; i++) {
    process.kill(host, 'SIGTERM');
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1)); // pending signals merge: pauses let many arrive one by one
  }
  const exited = await pid1.exited;
  const shutdown = pid1.output.slice(pid1.output.indexOf('shutdown: poweroff requested'));
  t.same(exited, { code: 0, signal: null }, 'a container power-off: exit 0');
  t.equal(pid1.output.match(/poweroff requested/g)?.length, 1, 'a thousand signals, one shutdown');
  t.equal(pid1.output.match(/ignored: poweroff already under way/g)?.length, 1, 'and one line about the others');
  t.match(shutdown, 'users: flaky: stopped (was waiting to restart)');
  t.notMatch(shutdown, /: started \(pid/, 'nothing starts once the shutdown began');
  t.match(shutdown, 'users: stubborn: still running 1500 ms after SIGTERM: SIGKILL (nodeos.shutdown_timeout=MS gives more time)', 'the init that ignores SIGTERM is killed, and the log says what gives it more time');
  t.match(shutdown, /users: stubborn: stopped \(signal SIGKILL\)[\s\S]*poweroff: exiting with status 0/);
  t.notMatch(pid1.output, /uncaught|unhandled/, 'PID 1 saw no error of its own');
});
