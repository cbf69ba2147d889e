// /init's compile cache (src/boot.ts, build/compile-cache.ts): the build makes
// it with the image's node and PID 1 starts with it; damaged or missing, PID 1
// boots all the same, compiled from source, and says so when it can tell.
import t, { type Test } from 'tap';
import { readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootNamespace, writeRootTree } from '../fixtures/namespace';
import { COMPILE_CACHE_DIR } from '../../src/compile-cache';
import { SYSTEM_DIR } from '../../initramfs/layout';

const BOOT_MS = 30_000;
const CMDLINE = 'console=ttyS0 nodeos.rootwait=0';

/** Every file of the tree's compile cache. */
function cacheFiles(tree: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(join(tree, SYSTEM_DIR, COMPILE_CACHE_DIR));
  return files;
}

async function boots(t: Test, tree: string, root: string) {
  const pid1 = bootNamespace(tree, root, CMDLINE);
  t.teardown(() => pid1.child.kill('SIGKILL'));
  await pid1.expect(/ready in \d+ ms/, BOOT_MS);
  await pid1.expect('nodeos> ', BOOT_MS);
  t.equal(await pid1.value('process.pid'), 1, 'PID 1 is up and its REPL answers');
  return pid1;
}

t.test('the build made a cache for this node, and PID 1 starts with it on', async (t) => {
  const dir = t.testdir({ tree: {}, root: {} });
  const tree = await writeRootTree(`${dir}/tree`);
  t.ok(cacheFiles(tree).length > 0, 'the image carries V8 code for the bundle');
  const pid1 = await boots(t, tree, `${dir}/root`);
  t.match(await pid1.value("require('node:module').getCompileCacheDir()"), new RegExp(`^/${SYSTEM_DIR}/${COMPILE_CACHE_DIR}/v\\d+`), 'on, in lib/nodeos');
  t.notMatch(pid1.output, /compile cache:/, 'nothing to report');
});

t.test('a damaged cache: V8 rejects it and PID 1 boots from source', async (t) => {
  const dir = t.testdir({ tree: {}, root: {} });
  const tree = await writeRootTree(`${dir}/tree`);
  for (const file of cacheFiles(tree)) {
    const data = readFileSync(file);
    for (let i = 64; i < data.length; i += 97) data[i] ^= 0xff; // past the header, all through the code
    writeFileSync(file, data);
  }
  await boots(t, tree, `${dir}/root`);
});

t.test('no cache (an arch the build host cannot run): PID 1 says so and boots from source', async (t) => {
  const dir = t.testdir({ tree: {}, root: {} });
  const tree = await writeRootTree(`${dir}/tree`);
  rmSync(join(tree, SYSTEM_DIR, COMPILE_CACHE_DIR), { recursive: true });
  const pid1 = await boots(t, tree, `${dir}/root`);
  t.match(pid1.output, /compile cache: none for this node \(v\d+\.\d+\.\d+ x64\)/);
});
