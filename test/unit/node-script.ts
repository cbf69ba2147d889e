// When becoming a program means running this node on a script (the launcher,
// /usr/bin/env), the script runs in the node already running; anything else
// is left to execve.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeScriptArgv, parseShebang } from '../../src/node-script';
import { ENV } from '../../build/paths';

const node = process.execPath;

t.test('a #! line, split as the kernel splits it', async (t) => {
  t.same(parseShebang(Buffer.from('#!/bin/node\nrest')), { interpreter: '/bin/node' });
  t.same(parseShebang(Buffer.from('#! /usr/bin/env node \r\n')), { interpreter: '/usr/bin/env', argument: 'node' }, 'spaces around the words');
  t.same(parseShebang(Buffer.from('#!/usr/bin/env -S node --inspect\n')), { interpreter: '/usr/bin/env', argument: '-S node --inspect' }, 'one argument: the rest of the line');
  t.same(parseShebang(Buffer.from('#!/bin/node')), { interpreter: '/bin/node' }, 'a file that is only its #! line');
  t.equal(parseShebang(Buffer.from('\x7fELF\x02\x01')), undefined, 'a binary');
  t.equal(parseShebang(Buffer.from('#!\n')), undefined, 'no interpreter');
  t.equal(parseShebang(Buffer.from('console.log(1)\n')), undefined);
});

t.test('what runs in this node, and what is executed', async (t) => {
  const dir = t.testdir({});
  const script = (name: string, text: string, mode = 0o755) => {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), mode);
    return join(dir, name);
  };
  // A PATH whose node is this one (through a link), and one whose node is another program.
  mkdirSync(join(dir, 'ours'));
  symlinkSync(node, join(dir, 'ours', 'node'));
  mkdirSync(join(dir, 'theirs'));
  script('theirs/node', '#!/bin/sh\necho another node\n');
  const ours = `${join(dir, 'ours')}:/usr/bin:/bin`;
  const theirs = `${join(dir, 'theirs')}:${ours}`;

  const direct = script('direct', `#!${node}\n`);
  t.same(nodeScriptArgv(direct, [direct, 'a', 'b'], ours), [node, direct, 'a', 'b'], '#! this node: its argv as node gives it');
  const linked = script('linked', `#!${join(dir, 'ours', 'node')}\n`);
  t.same(nodeScriptArgv(linked, [linked], ours), [node, linked], '#! a link to this node');
  const viaEnv = script('via-env', '#!/usr/bin/env node\n');
  t.same(nodeScriptArgv(viaEnv, [viaEnv, 'x'], ours), [node, viaEnv, 'x'], '#!/usr/bin/env node, with this node first on PATH');
  t.equal(nodeScriptArgv(viaEnv, [viaEnv], theirs), undefined, 'another node first on PATH: executed, so it runs');
  t.equal(nodeScriptArgv(script('options', `#!${node} --max-old-space-size=64\n`), ['options'], ours), undefined, 'node options on the #! line');
  t.equal(nodeScriptArgv(script('env-s', '#!/usr/bin/env -S node --inspect\n'), ['env-s'], ours), undefined, 'env -S');
  t.equal(nodeScriptArgv(script('shell', '#!/bin/sh\necho hi\n'), ['shell'], ours), undefined, 'a shell script');
  t.equal(nodeScriptArgv(script('not-executable', `#!${node}\n`, 0o644), ['not-executable'], ours), undefined, 'no x bit: execve refuses it, as before');
  t.equal(nodeScriptArgv(join(dir, 'missing'), ['missing'], ours), undefined, 'missing: execve says ENOENT');
  t.equal(nodeScriptArgv('/bin/true', ['true'], ours), undefined, 'a binary');

  t.same(nodeScriptArgv(node, [node, 'app.js', '--port', '80'], ours), [node, 'app.js', '--port', '80'], 'node itself with a script');
  t.equal(nodeScriptArgv(node, [node, '--inspect', 'app.js'], ours), undefined, 'node with options');
  t.equal(nodeScriptArgv(node, [node], ours), undefined, 'node alone is its REPL');
});

t.test('/usr/bin/env runs a node script in its own node', async (t) => {
  const dir = t.testdir({ 'app.js': "console.log(JSON.stringify({ argv: process.argv.slice(1), main: require.main === module, pid: process.pid, ppid: process.ppid }));\n" });
  const app = join(dir, 'app.js');
  const run = spawnSync(node, [ENV, 'GREETING=hi', 'node', app, 'one', 'two'], { encoding: 'utf8', env: { PATH: `${join(node, '..')}:/usr/bin:/bin` } });
  t.equal(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout) as { argv: string[]; main: boolean; pid: number; ppid: number };
  t.same(seen.argv, [app, 'one', 'two'], 'argv as node gives it');
  t.ok(seen.main, 'it is the main module');
  t.equal(seen.pid, run.pid, 'in the process env was started as: no second node');
});
