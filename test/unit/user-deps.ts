// Build-time installs: a home's dependencies installed for the image, on a
// copy of the tree; a native addon without a binary for the target stops the
// build with its name. Local (file:) packages only: nothing is downloaded.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { homesWithPackages, installUserDependencies, nativeWithoutPrebuild } from '../../build/user-deps';

const pkg = (dir: string, manifest: Record<string, unknown>, files: Record<string, string> = {}) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
};

t.test('which packages need compiling for the target', async (t) => {
  const dir = t.testdir({});
  pkg(join(dir, 'plain'), { name: 'plain' });
  pkg(join(dir, 'gyp'), { name: 'gyp' }, { 'binding.gyp': '{}' });
  pkg(join(dir, 'gypfile'), { name: 'gypfile', gypfile: true });
  pkg(join(dir, 'prebuilt'), { name: 'prebuilt' }, { 'binding.gyp': '{}', 'prebuilds/linux-x64/prebuilt.node': 'ELF' });
  pkg(join(dir, 'other-arch'), { name: 'other-arch' }, { 'binding.gyp': '{}', 'prebuilds/linux-arm64/x.node': 'ELF' });
  pkg(join(dir, 'built'), { name: 'built' }, { 'binding.gyp': '{}', 'build/Release/built.node': 'ELF' });
  const needs = ['plain', 'gyp', 'gypfile', 'prebuilt', 'other-arch', 'built'].filter((name) => nativeWithoutPrebuild(join(dir, name), 'linux-x64'));
  t.same(needs, ['gyp', 'gypfile', 'other-arch']);
});

t.test('a home with package.json gets its dependencies in a copy; a native one is named', async (t) => {
  const dir = t.testdir({ tree: {}, out: {}, libs: {} });
  pkg(join(dir, 'libs', 'pure'), { name: 'pure', version: '1.0.0', main: 'index.js' }, { 'index.js': 'module.exports = 1' });
  pkg(join(dir, 'libs', 'addon'), { name: 'addon', version: '1.0.0' }, { 'binding.gyp': '{}' });
  pkg(join(dir, 'tree', 'app'), { name: 'app', private: true, dependencies: { pure: `file:${join(dir, 'libs', 'pure')}` } });
  mkdirSync(join(dir, 'tree', 'bob')); // no package.json: nothing to do
  t.same(homesWithPackages(join(dir, 'tree')), ['app']);
  const stage = await installUserDependencies(join(dir, 'tree'), join(dir, 'out', 'users.img'), 'x64');
  t.not(stage, join(dir, 'tree'));
  t.ok(existsSync(join(stage, 'app', 'node_modules', 'pure', 'index.js')), 'installed in the copy');
  t.notOk(existsSync(join(dir, 'tree', 'app', 'node_modules')), 'the given tree is untouched');
  rmSync(join(stage, '..'), { recursive: true });

  pkg(join(dir, 'tree', 'app'), { name: 'app', private: true, dependencies: { addon: `file:${join(dir, 'libs', 'addon')}` } });
  await t.rejects(installUserDependencies(join(dir, 'tree'), join(dir, 'out', 'users.img'), 'x64'), /app: addon has a native addon with no prebuilt binary for linux-x64/);
  t.same(readdirSync(join(dir, 'out')), [], 'the failed copy is removed');
  t.equal(JSON.parse(readFileSync(join(dir, 'tree', 'app', 'package.json'), 'utf8')).name, 'app');
});
