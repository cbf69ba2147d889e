// `nodeos build`: kernel + initramfs + manifest.json for one architecture.
// Inputs are fingerprinted, so an unchanged image is not rebuilt.
import { createHash } from 'node:crypto';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { cpioChunks, type CpioEntry } from '../initramfs/cpio';
import { initramfsEntries } from '../initramfs/layout';
import { progress } from './exec';
import { debianKernel } from './kernel';
import { moduleEntries } from './modules';
import { nodeDist, sharedLibraries } from './node-binary';
import { ADDON, BUNDLE, ENV, LAUNCHER } from './paths';
import { archInfo } from './versions';

export interface Manifest {
  arch: string;
  /** Paths are relative to the manifest. */
  kernel: { path: string; package: string; version: string };
  initramfs: { path: string; bytes: number };
  cmdline: string;
  node: { version: string };
  /** Kernel modules in the initramfs; wanted ones this kernel lacks. */
  modules: { included: string[]; missing: string[] };
  /** Hash of every input; equal means the image is up to date. */
  fingerprint: string;
}

export const MANIFEST = 'manifest.json';

export const defaultCmdline = (arch: string) => `console=${archInfo(arch).console} panic=1 quiet`;

/** mtimes in the archive: SOURCE_DATE_EPOCH, else 0, so builds are reproducible. */
export const sourceDateEpoch = () => Number(process.env.SOURCE_DATE_EPOCH ?? 0) || 0;

export async function writeInitramfs(entries: readonly CpioEntry[], file: string): Promise<number> {
  mkdirSync(dirname(file), { recursive: true });
  await pipeline(Readable.from(cpioChunks(entries, sourceDateEpoch())), createGzip({ level: 9 }), createWriteStream(`${file}.tmp`));
  renameSync(`${file}.tmp`, file);
  return statSync(file).size;
}

/** The node binary and its libraries, as the image carries them. */
export async function nodeInputs(arch: string) {
  const node = await nodeDist(arch);
  return { version: node.version, node: readFileSync(node.stripped), libs: sharedLibraries(node.stripped) };
}

export async function buildImage(arch: string, out: string): Promise<{ manifest: Manifest; path: string; built: boolean }> {
  for (const file of [BUNDLE, ADDON, LAUNCHER, ENV]) if (!existsSync(file)) throw new Error(`build: ${file} is missing; run npm run build`);
  const dir = resolve(out, arch);
  const path = join(dir, MANIFEST);
  const [kernel, node] = [await debianKernel(arch), await nodeInputs(arch)];
  const init = readFileSync(BUNDLE);
  const addon = readFileSync(ADDON);
  const [launcher, env] = [readFileSync(LAUNCHER), readFileSync(ENV)];
  const cmdline = defaultCmdline(arch);
  const fingerprint = hash([arch, kernel.package, kernel.version, node.version, cmdline, String(sourceDateEpoch()), readFileSync(__filename), init, addon, launcher, env, ...node.libs.map((l) => l.data)]);
  if (existsSync(path)) {
    const old = readManifest(path);
    if (old.fingerprint === fingerprint && existsSync(join(dir, old.initramfs.path))) return { manifest: old, path, built: false };
  }
  const modules = moduleEntries(join(kernel.dir, 'lib', 'modules', kernel.release), kernel.release);
  const bytes = await progress('writing initramfs', () =>
    writeInitramfs(initramfsEntries({ node: node.node, libs: node.libs, init, addon, launcher, env, extra: modules.entries }), join(dir, 'initramfs.cpio.gz')),
  );
  copyFileSync(kernel.image, join(dir, 'vmlinuz'));
  const manifest: Manifest = {
    arch,
    kernel: { path: 'vmlinuz', package: kernel.package, version: kernel.version },
    initramfs: { path: 'initramfs.cpio.gz', bytes },
    cmdline,
    node: { version: node.version },
    modules: { included: modules.modules.map((m) => m.name), missing: modules.missing },
    fingerprint,
  };
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, path, built: true };
}

export function readManifest(path: string): Manifest {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (err) {
    throw new Error(`manifest ${path}: ${(err as Error).message}; run nodeos build`);
  }
}

function hash(parts: readonly (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const part of parts) h.update(createHash('sha256').update(part).digest());
  return h.digest('hex').slice(0, 16);
}
