// npm as the image ships it (build/npm.ts, build/lean-package.ts): minified and
// without the packages NodeOS never runs, run by the image's own node. It still
// packs, installs, links bins, runs scripts and finds help; a package that must
// be compiled fails as on any machine without Python, saying so.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeEntries } from '../../build/tree-entries';
import { nodeDist } from '../../build/node-binary';
import { NPM_PREFIX, npmEntries } from '../../build/npm';

t.test('the shipped npm installs, runs and helps; a native build says there is no Python', async (t) => {
  const dir = t.testdir();
  writeEntries(await npmEntries(), join(dir, 'root'));
  // Only node and sh on PATH: the host's python3 must not be found, as the image has none.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync((await nodeDist(process.arch)).stripped, join(bin, 'node'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  // Everything installs from local tarballs: a registry on a closed loopback port makes any reach outward fail here.
  const env = { PATH: bin, HOME: join(dir, 'home'), npm_config_cache: join(dir, 'cache'), npm_config_registry: 'http://127.0.0.1:9/', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };
  const npm = (cwd: string, ...args: string[]) => spawnSync(join(bin, 'node'), [join(dir, 'root', NPM_PREFIX, 'bin', 'npm-cli.js'), ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  const pkg = (name: string, files: Record<string, string>) => {
    const at = join(dir, name);
    mkdirSync(at);
    for (const [file, text] of Object.entries(files)) writeFileSync(join(at, file), text);
    const packed = npm(at, 'pack', '--silent');
    t.equal(packed.status, 0, `${name}: npm pack ${packed.stderr}`);
    return join(at, packed.stdout.trim());
  };

  const tool = pkg('tool', {
    'package.json': JSON.stringify({ name: 'tool', version: '1.0.0', bin: { tool: 'tool.js' } }),
    'tool.js': '#!/usr/bin/env node\nconsole.log("tool ran");\n',
  });
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', scripts: { hello: 'tool && echo "script of $npm_package_name"' } }));
  const installed = npm(app, 'install', tool);
  t.equal(installed.status, 0, `npm install: ${installed.stderr}`);
  t.match(readFileSync(join(app, 'package-lock.json'), 'utf8'), /"node_modules\/tool"/);
  const ran = npm(app, 'run', 'hello');
  t.equal(ran.status, 0, `npm run: ${ran.stderr}`);
  t.match(ran.stdout, /tool ran\nscript of app/);
  t.match(npm(app, 'help', 'install').stdout, /npm help install/, 'help searches the docs it ships');

  const native = pkg('native', {
    'package.json': JSON.stringify({ name: 'native', version: '1.0.0' }),
    'binding.gyp': JSON.stringify({ targets: [{ target_name: 'native', sources: ['native.cc'] }] }),
    'native.cc': '',
  });
  const built = npm(app, 'install', native);
  t.not(built.status, 0, 'a package that must be compiled is not installed');
  t.match(built.stdout + built.stderr, /find Python/, "node-gyp's own error, not a missing module");
  t.notMatch(built.stdout + built.stderr, /Cannot find module/);
});
