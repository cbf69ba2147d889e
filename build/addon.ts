// The syscall addon, built by node-gyp against the pinned Node's own headers
// (the npm package ships include/node, so nothing downloads them). It uses
// Node-API only, so the one build loads in the host's Node and the image's.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from './exec';
import { nodeDist } from './node-binary';
import { ADDON, DIST, ROOT } from './paths';

export async function buildAddon(arch: string): Promise<string> {
  const { dir } = await nodeDist(arch);
  const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [ROOT] });
  const native = join(ROOT, 'native');
  const args = ['--directory', native, `--nodedir=${dir}`, '--loglevel=warn'];
  if (!existsSync(join(native, 'build', 'Makefile'))) exec('node-gyp configure', process.execPath, [gyp, 'configure', ...args]);
  exec('node-gyp build', process.execPath, [gyp, 'build', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  mkdirSync(DIST, { recursive: true });
  copyFileSync(join(native, 'build', 'Release', 'nodeos.node'), ADDON);
  return ADDON;
}
