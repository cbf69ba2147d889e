// `nodeos build`: kernel + initramfs + manifest.json for one architecture and
// platform. Inputs are fingerprinted, so an unchanged image is not rebuilt.
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Duplex, Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { cpioChunks, type CpioEntry } from '../initramfs/cpio';
import { initramfsArchives, type InitramfsInputs } from '../initramfs/layout';
import { npmEntries } from './npm';
import { leanEntries } from './lean-package';
import { progress } from './exec';
import { debianKernel } from './kernel';
import { firmwareFiles } from './firmware';
import { MANIFEST, readManifest, type Manifest } from './manifest';
import { moduleEntries, modulesOf } from './modules';
import { customKernel, FRAGMENT } from '../kernel/custom';
import { nodeDist, sharedLibraries, sysrootFor } from './node-binary';
import { e2fsckEntries } from './e2fsck';
import { basename } from 'node:path';
import { archInfo } from './versions';
import { ensureAddon } from './addon';
import { ADDON, BOOT, BUNDLE, CACHE, ENV, HELPERS, ROOT, SH } from './paths';
import { compileCacheEntries, nodeRunner } from './compile-cache';
import { ARCHIVE_CACHE, trimCache } from './cache-trim';
import { kernelPlatform, platformDir, type KernelPlatform } from './platforms';
import { ONE_ARENA } from '../src/one-arena';

/**
 * PID 1's environment, there before node starts: the kernel hands /init each
 * word of its command line that it does not know as NAME=value (a container
 * engine, the image's Env). One malloc arena: src/one-arena.ts.
 */
export const PID1_ENVIRONMENT = Object.entries(ONE_ARENA).map(([name, value]) => `${name}=${value}`);

export const defaultCmdline = (arch: string, platform: KernelPlatform) => [...platform.consoles(arch).map((c) => `console=${c}`), 'panic=1', 'quiet', ...PID1_ENVIRONMENT].join(' ');

/** mtimes in the archive: SOURCE_DATE_EPOCH, else 0, so builds are reproducible. */
export const sourceDateEpoch = () => Number(process.env.SOURCE_DATE_EPOCH ?? 0) || 0;

/** How an initramfs is compressed; `none` for the kernel to embed and compress itself. */
export type Compression = 'gzip' | 'zstd' | 'none';
export const INITRAMFS_FILE: Record<Compression, string> = { gzip: 'initramfs.cpio.gz', zstd: 'initramfs.cpio.zst', none: 'initramfs.cpio' };

/** The compressor as a stream: zlib's gzip, or the zstd program (-19; the host's Node may have no zstd). */
function compressor(compression: Compression): NodeJS.ReadWriteStream[] {
  if (compression === 'gzip') return [createGzip({ level: 9 })];
  if (compression === 'none') return [];
  const zstd = spawn('zstd', ['-19', '-T0', '-q', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  zstd.on('error', (err) => zstd.stdout.destroy(new Error(`zstd: ${err.message} (apt-get install zstd)`)));
  return [Duplex.from({ writable: zstd.stdin, readable: zstd.stdout })];
}

/** One archive compressed, kept in the cache by its content: a rebuild compresses only what changed. */
async function compressedArchive(entries: readonly CpioEntry[], compression: Compression): Promise<string> {
  const file = join(CACHE, 'initramfs', `${hashOf([digest(compression), ...archiveDigests(entries)])}.cpio.${compression}`);
  try {
    const now = new Date();
    utimesSync(file, now, now); // used: the last to go
    return file;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // ENOENT: not made yet, or trimmed a moment ago by another build
  }
  mkdirSync(dirname(file), { recursive: true });
  await pipeline([Readable.from(cpioChunks(entries, sourceDateEpoch())), ...compressor(compression), createWriteStream(`${file}.tmp`)]);
  renameSync(`${file}.tmp`, file);
  trimCache(dirname(file), ARCHIVE_CACHE);
  return file;
}

/** Writes the archives one after the other (the kernel unpacks a concatenation), each compressed as asked; returns the size. */
export async function writeInitramfs(archives: readonly (readonly CpioEntry[])[], file: string, compression: Compression = 'gzip'): Promise<number> {
  const parts = await Promise.all(archives.map((entries) => compressedArchive(entries, compression)));
  mkdirSync(dirname(file), { recursive: true });
  await pipeline(async function* () {
    for (const part of parts) yield* createReadStream(part);
  }, createWriteStream(`${file}.tmp`));
  renameSync(`${file}.tmp`, file);
  return statSync(file).size;
}

/** The node binary and its libraries, as the image carries them. */
export async function nodeInputs(arch: string) {
  const node = await nodeDist(arch);
  return { version: node.version, node: readFileSync(node.stripped), libs: sharedLibraries(node.stripped, archInfo(arch).triplet, await sysrootFor(arch)) };
}

/** Everything of the initramfs but the kernel's modules: node, PID 1 and its helpers, npm. */
export async function systemInputs(arch: string): Promise<InitramfsInputs & { version: string }> {
  for (const file of [BOOT, BUNDLE, ADDON, ...HELPERS, ENV, SH]) if (!existsSync(file)) throw new Error(`build: ${file} is missing; run npm run build`);
  const node = await nodeInputs(arch);
  const [boot, init, addon] = [readFileSync(BOOT), readFileSync(BUNDLE), readFileSync(await ensureAddon(arch))];
  return {
    ...node,
    boot,
    init,
    compileCache: compileCacheEntries({ arch, node: (await nodeDist(arch)).stripped, runner: nodeRunner(arch, await sysrootFor(arch)), nodeVersion: node.version, boot, init, addon }),
    addon,
    helpers: Object.fromEntries(HELPERS.map((file) => [basename(file), readFileSync(file)])),
    packages: unbundled(),
    env: readFileSync(ENV),
    sh: readFileSync(SH),
    npm: await npmEntries(),
  };
}

/**
 * blessed (the dashboard's terminal library) cannot be bundled: it requires
 * its widgets and terminfo files by name at run time. It is shipped as its
 * folder (lean: build/lean-package.ts), without its examples and browser build.
 */
function unbundled(): CpioEntry[] {
  const dir = dirname(require.resolve('blessed/package.json', { paths: [ROOT] }));
  return leanEntries(dir, 'lib/node_modules/blessed', (path) => /^lib\/node_modules\/blessed\/(example|browser)(\/|$)/.test(path) || /\.md$/.test(path));
}

export type KernelChoice = 'debian' | 'custom';

export interface BuildTarget {
  arch: string;
  /** The output folder; the image goes to OUT/ARCH[/PLATFORM-DIR]. */
  out: string;
  platform: string;
  kernel: KernelChoice;
}

export async function buildImage({ arch, out, platform: platformName, kernel: kernelChoice }: BuildTarget): Promise<{ manifest: Manifest; path: string; built: boolean }> {
  if (kernelChoice === 'custom' && arch !== 'x64') throw new Error('build: the custom kernel is built for x64 only');
  const platform = kernelPlatform(platformName, arch);
  const dir = platformDir(out, arch, platformName);
  const path = join(dir, MANIFEST);
  const [kernel, system] = [await debianKernel(arch, platform.kernel), await systemInputs(arch)];
  const cmdline = defaultCmdline(arch, platform);
  // The custom kernel has every driver built in: no modules (nor their firmware) in its archive.
  const modules = kernelChoice === 'custom' ? undefined : moduleEntries(join(kernel.dir, 'lib', 'modules', kernel.release), kernel.release, modulesOf(platform.modules));
  const firmware = await firmwareFiles(modules?.modules.flatMap((m) => m.firmware) ?? [], modules ? platform.firmware : []);
  const archives = initramfsArchives({ ...system, extra: [...(modules?.entries ?? []), ...firmware.entries, ...(await e2fsckEntries(arch))] });
  // What the image is made of, byte for byte: equal means up to date.
  const kernelInput = kernelChoice === 'custom' ? readFileSync(FRAGMENT) : `${kernel.package} ${kernel.version}`;
  const settings = [arch, platformName, kernelChoice, kernelInput, cmdline, platform.compression].map(digest);
  const fingerprint = hashOf([...settings, ...archives.flatMap(archiveDigests)]);
  if (existsSync(path)) {
    const old = readManifest(path);
    if (old.fingerprint === fingerprint && existsSync(join(dir, old.kernel.path))) return { manifest: old, path, built: false };
  }
  let kernelInfo: Manifest['kernel'];
  let initramfs: Manifest['initramfs'];
  if (kernelChoice === 'custom') {
    const cpio = join(dir, INITRAMFS_FILE.none);
    await progress('writing initramfs (to embed)', () => writeInitramfs(archives, cpio, 'none'));
    const custom = await customKernel(cpio);
    copyFileSync(custom.image, join(dir, 'vmlinuz'));
    rmSync(cpio);
    kernelInfo = { path: 'vmlinuz', package: 'linux-source (custom, initramfs embedded)', version: custom.version };
  } else {
    const file = INITRAMFS_FILE[platform.compression];
    const bytes = await progress(`writing initramfs (${platform.compression})`, () => writeInitramfs(archives, join(dir, file), platform.compression));
    copyFileSync(kernel.image, join(dir, 'vmlinuz'));
    kernelInfo = { path: 'vmlinuz', package: kernel.package, version: kernel.version };
    initramfs = { path: file, bytes };
  }
  const manifest: Manifest = {
    arch,
    kernel: kernelInfo,
    ...(initramfs && { initramfs }),
    cmdline,
    node: { version: system.version },
    platform: platformName,
    modules: { included: modules?.modules.map((m) => m.name) ?? [], missing: modules?.missing ?? [] },
    firmware: { included: firmware.included, missing: firmware.missing },
    fingerprint,
  };
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, path, built: true };
}

const digest = (part: string | Buffer) => createHash('sha256').update(part).digest();

/** A hash of parts from their digests. */
function hashOf(digests: readonly Buffer[]): string {
  const h = createHash('sha256');
  for (const d of digests) h.update(d);
  return h.digest('hex').slice(0, 16);
}

/**
 * Each archive's chunks digested once: the image's fingerprint and the
 * compressed archive's cache key are both made of them (120 MB, hashed once per build).
 */
const digested = new WeakMap<readonly CpioEntry[], Buffer[]>();
function archiveDigests(entries: readonly CpioEntry[]): Buffer[] {
  let digests = digested.get(entries);
  if (!digests) digested.set(entries, (digests = [...cpioChunks(entries, sourceDateEpoch())].map(digest)));
  return digests;
}
