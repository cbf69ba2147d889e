// What loading PID 1 costs before its first line: the bundle's top level must
// not pull in the built-in modules that nothing before ready needs
// (src/builtins.ts). Run as the build runs it for the compile cache: the
// image's node, /init's #! option, the bundle refusing to go on as it is not
// PID 1, so only what its loading required is there at exit.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADDON, BOOT, BUNDLE } from '../../build/paths';
import { ADDON_FILE } from '../../src/sys';
import { nodeDist } from '../../build/node-binary';
import { shebangOption } from '../../build/compile-cache';
import { loadedBuiltins } from '../../src/builtins';
import { HEAVY_BUILTINS } from '../fixtures/heavy-builtins';


t.test("PID 1's bundle loads none of the heavy built-ins before its first line", async (t) => {
  const dir = t.testdir({});
  copyFileSync(BOOT, `${dir}/init`);
  copyFileSync(BUNDLE, `${dir}/init.js`);
  copyFileSync(ADDON, `${dir}/${ADDON_FILE}`); // /init sets V8's flags through it
  writeFileSync(`${dir}/report.js`, "process.on('exit', () => require('fs').writeFileSync(__dirname + '/loaded.json', JSON.stringify(process.moduleLoadList)));\n");
  const { stripped } = await nodeDist('x64');
  // env -i: none of tap's NODE_OPTIONS (its loader would load them all).
  const run = spawnSync('env', ['-i', stripped, ...shebangOption(readFileSync(BOOT)), '--require', `${dir}/report.js`, `${dir}/init`], { encoding: 'utf8' });
  t.match(run.stderr, /refuses to run as pid \d+/, 'the bundle loaded and stopped where a non-PID 1 stops');
  const loaded = new Set(loadedBuiltins(JSON.parse(readFileSync(`${dir}/loaded.json`, 'utf8')) as string[]));
  t.same(HEAVY_BUILTINS.filter((m) => loaded.has(m)), [], 'none of them loaded');
  t.ok(loaded.has('os'), 'what it does import is seen (the check can fail)');
});

// A require() of one of PID 1's own modules makes esbuild wrap it, and all it imports, in functions V8 compiles
// lazily at boot, outside the compile cache (src/builtins.ts): they import one another instead.
t.test("PID 1's modules import one another, never require()", async (t) => {
  const src = join(__dirname, '..', '..', 'src');
  const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && f !== 'boot.ts'); // boot.ts loads the bundle itself
  t.ok(files.length > 40, 'the sources are read');
  const requiring = files.filter((f) => /\brequire\(\s*['"]\.\.?\//.test(readFileSync(join(src, f), 'utf8')));
  t.same(requiring, [], 'no require() of a relative path');
});

// winston asks for readable-stream 3, a copy of Node 10's streams; the bundle gives it node's own (build/compile.mjs).
t.test("PID 1's bundle holds one stream implementation, node's", async (t) => {
  const bundle = readFileSync(BUNDLE, 'utf8');
  t.ok(bundle.includes('winston'), 'winston is in it');
  t.notMatch(bundle, /ReadableState|WritableState/, "no copy of node's streams");
});
