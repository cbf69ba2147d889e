// PID 1's console REPLs share its global scope, yet what a line prints (and
// what it started: promises, timers) goes to the console it was typed on, and
// power requests name that console.
import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import tty from 'node:tty';
import { sys } from '../../src/sys';
import { ConsoleRepl } from '../../src/repl';
import type { Terminal } from '../../src/consoles';
import type { PowerAction } from '../../src/shutdown';
import { memoryLog } from '../fixtures/fake-sys';

function console_(name: string) {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  return {
    terminal: { name, input, output } as unknown as Terminal,
    type: (line: string) => input.write(`${line}\n`),
    printed: () => printed,
  };
}

async function until(check: () => boolean, what: string, ms = 2000) {
  for (let i = 0; i < ms / 10 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`never: ${what}`);
}

t.test('two consoles: one scope, each line prints where it was typed', async (t) => {
  const power: PowerAction[] = [];
  const log = memoryLog();
  const [a, b] = [console_('ttyS0'), console_('tty1')];
  const repls = [a, b].map((c) => new ConsoleRepl(c.terminal, (action) => power.push(action), log, { answer: () => 42 }));
  const ended = repls.map((r) => r.run());

  a.type("console.log('said on ' + 'ttyS0')");
  b.type("setTimeout(() => console.log('later on ' + 'tty1'), 30)");
  a.type("Promise.resolve().then(() => console.log('then on ' + 'ttyS0'))");
  await until(() => a.printed().includes('then on ttyS0') && b.printed().includes('later on tty1'), 'all three lines');
  t.notMatch(b.printed(), /on ttyS0/, "ttyS0's lines are not on tty1");
  t.notMatch(a.printed(), /on tty1/, "tty1's timer printed on tty1 only");

  a.type('shared = answer() + 1');
  b.type("console.log('tty1 sees ' + shared)");
  await until(() => b.printed().includes('tty1 sees 43'), 'the shared global');
  t.pass('a global set on one console is seen on the other, as its helpers are');

  b.type('poweroff()');
  await until(() => power.length === 1, 'the power request');
  t.same(power, ['poweroff']);
  t.ok(log.lines.includes('info: tty1: poweroff'), 'the request names the console it was typed on');

  for (const repl of repls) repl.stop();
  t.same(await Promise.all(ended), ['stopped', 'stopped']);
});

t.test('on a terminal: the prompt at once, node:repl only at the first key, which it gets', async (t) => {
  const { master, slave } = sys().openpty();
  const child = spawn(process.execPath, [...process.execArgv, join(__dirname, '..', 'fixtures', 'pty-repl.ts')], { stdio: [slave, slave, 'inherit', 'ipc'] });
  closeSync(slave);
  const screen = new tty.ReadStream(master);
  let shown = '';
  screen.on('data', (chunk: Buffer) => (shown += chunk.toString()));
  screen.on('error', () => {});
  const ask = () => new Promise<unknown>((resolve) => (child.once('message', resolve), child.send('loaded?')));
  t.teardown(() => {
    child.kill();
    screen.destroy();
  });

  await until(() => shown.includes('nodeos> '), 'the prompt', 30_000); // a node start, with the tests' TypeScript loader
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await ask(), false, 'node:repl is not loaded while nobody types');
  writeSync(master, '6 * 7\r');
  await until(() => /6 \* 7[^]*42/.test(shown), 'the answer', 30_000);
  t.equal(await ask(), true, 'the first key loaded it');
  t.notMatch(shown, /nodeos> nodeos> /, 'the REPL drew its prompt over the one shown, not after it');
  t.equal(shown.match(/6 \* 7/g)?.length, 1, 'what was typed is echoed once, by the REPL');
});
