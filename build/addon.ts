// The syscall addon, built by node-gyp against the pinned Node's own headers
// (the npm package ships include/node, so nothing downloads them). It uses
// Node-API, and of V8's own API only V8::SetFlagsFromString, which node
// exports and which has not changed in years, so the one build loads in the
// host's Node and the image's.
// For another arch it is cross-compiled with Debian's cross compiler for
// that arch's triplet, in a copy of native/ of its own, and the result is
// checked to be an ELF for that machine.
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from './exec';
import { nodeDist } from './node-binary';
import { ADDON, DIST, ROOT } from './paths';
import { archInfo, isHostArch } from './versions';

const NATIVE = join(ROOT, 'native');

/** Where the addon for an arch is: dist/nodeos.node for the host's (loaded by the tests too), dist/ARCH/ for another. */
export const addonPath = (arch: string) => (isHostArch(arch) ? ADDON : join(DIST, arch, 'nodeos.node'));

/** e_machine of an ELF file. */
export const elfMachine = (file: string) => readFileSync(file).readUInt16LE(18);

export async function buildAddon(arch: string): Promise<string> {
  const info = archInfo(arch);
  const { dir } = await nodeDist(arch);
  const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [ROOT] });
  const project = isHostArch(arch) ? NATIVE : join(DIST, arch, 'native');
  if (project !== NATIVE) cpSync(NATIVE, project, { recursive: true, filter: (path) => !path.startsWith(join(NATIVE, 'build')) });
  const tools = isHostArch(arch) ? {} : { CC: `${info.triplet}-gcc`, CXX: `${info.triplet}-g++`, LINK: `${info.triplet}-g++`, AR: `${info.triplet}-ar` };
  const env = { ...process.env, ...tools };
  const args = ['--directory', project, `--nodedir=${dir}`, `--arch=${info.gypArch}`, '--loglevel=warn'];
  if (!existsSync(join(project, 'build', 'Makefile'))) exec('node-gyp configure', process.execPath, [gyp, 'configure', ...args], { env });
  exec('node-gyp build', process.execPath, [gyp, 'build', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const built = join(project, 'build', 'Release', 'nodeos.node');
  if (elfMachine(built) !== info.elfMachine) throw new Error(`addon: ${built} is for ELF machine ${elfMachine(built)}, not ${arch} (${info.elfMachine})`);
  const out = addonPath(arch);
  mkdirSync(join(out, '..'), { recursive: true });
  copyFileSync(built, out);
  return out;
}

/** The addon for an arch, built when missing or older than its sources (the host's is built by npm run build). */
export async function ensureAddon(arch: string): Promise<string> {
  const out = addonPath(arch);
  const newest = Math.max(...readdirSync(NATIVE).filter((f) => /\.(cc|h|gyp)$/.test(f)).map((f) => statSync(join(NATIVE, f)).mtimeMs));
  if (!isHostArch(arch) && (!existsSync(out) || statSync(out).mtimeMs < newest)) await buildAddon(arch);
  return out;
}
