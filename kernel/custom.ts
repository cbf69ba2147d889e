// The custom kernel: Debian's linux-source package (no other download),
// `make tinyconfig` + kernel/nodeos.config, every driver built in and the
// NodeOS initramfs embedded. The configured tree is cached under a key made of
// the source version, the fragment and this file, so a changed initramfs only
// rebuilds usr/ and relinks.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { downloadDeb, resolvePackage, type DebPackage } from '../build/apt';
import { exec, progress } from '../build/exec';
import { CACHE, ROOT } from '../build/paths';

export const FRAGMENT = join(ROOT, 'kernel', 'nodeos.config');
const SOURCE_META = 'linux-source';
/** Bumped when configuredTree() changes what it makes; part of the cache key. */
const TREE_LAYOUT = 'tinyconfig+fragment, initramfs at usr/nodeos.cpio, v1';

export interface CustomKernel {
  /** arch/x86/boot/bzImage, initramfs inside */
  image: string;
  /** The linux-source package version. */
  version: string;
  tree: string;
}

/** The CONFIG_ lines of a fragment, as name → value ("n" for `=n`). */
export function parseFragment(text: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(CONFIG_\w+)=(.*)$/.exec(line.trim());
    if (match) options.set(match[1], match[2]);
  }
  return options;
}

/** Options of the fragment that the final .config does not have as asked (unmet dependencies). */
export function unmetOptions(fragment: Map<string, string>, config: string): string[] {
  const final = parseFragment(config);
  for (const line of config.split('\n')) {
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset) final.set(unset[1], 'n');
  }
  return [...fragment].filter(([name, value]) => (final.get(name) ?? 'n') !== value).map(([name, value]) => `${name}=${value} (got ${final.get(name) ?? 'n'})`);
}

function sourcePackage(): DebPackage {
  const pkg = resolvePackage(SOURCE_META, 'linux-source-');
  if (!pkg) throw new Error('custom kernel: apt-cache knows no linux-source; run apt-get update');
  return pkg;
}

/** Runs make in the tree, printing a line of progress every 20 s. */
function make(tree: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('make', ['-C', tree, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let last = '';
    let tail: string[] = [];
    const collect = (chunk: Buffer) => {
      const lines = chunk.toString().split('\n').filter(Boolean);
      if (lines.length) last = lines.at(-1)!.trim();
      tail = [...tail, ...lines].slice(-30);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setInterval(() => process.stderr.write(`nodeos: ${what}: ${last}\n`), 20_000);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code === 0) resolve();
      else reject(new Error(`custom kernel: make ${args.join(' ')} failed (${code}):\n${tail.join('\n')}`));
    });
  });
}

async function configuredTree(pkg: DebPackage, key: string): Promise<string> {
  const dir = join(CACHE, 'kernel-build', `${pkg.version}-${key}`);
  const tree = join(dir, 'linux');
  if (existsSync(join(tree, '.config'))) return tree;
  const deb = await downloadDeb(pkg);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await progress('unpacking the kernel source', () => {
    exec('dpkg-deb', 'dpkg-deb', ['-x', deb, join(tmp, 'deb')]);
    const tarball = readdirSync(join(tmp, 'deb', 'usr', 'src')).find((f) => f.endsWith('.tar.xz'))!;
    exec('tar', 'tar', ['-xJf', join(tmp, 'deb', 'usr', 'src', tarball), '-C', tmp]);
    rmSync(join(tmp, 'deb'), { recursive: true });
    renameSync(join(tmp, tarball.replace(/\.tar\.xz$/, '')), join(tmp, 'linux'));
  });
  const fragment = readFileSync(FRAGMENT, 'utf8');
  await make(join(tmp, 'linux'), ['tinyconfig'], 'configuring');
  // The initramfs is a fixed path in the tree, so a new one only relinks.
  writeFileSync(join(tmp, 'linux', 'usr', 'nodeos.cpio'), '');
  writeFileSync(join(tmp, 'linux', 'nodeos.config'), `${fragment}\nCONFIG_INITRAMFS_SOURCE="usr/nodeos.cpio"\n`);
  exec('merge_config', join(tmp, 'linux', 'scripts', 'kconfig', 'merge_config.sh'), ['-m', '-O', join(tmp, 'linux'), join(tmp, 'linux', '.config'), join(tmp, 'linux', 'nodeos.config')], { cwd: join(tmp, 'linux') });
  await make(join(tmp, 'linux'), ['olddefconfig'], 'configuring');
  const unmet = unmetOptions(parseFragment(fragment), readFileSync(join(tmp, 'linux', '.config'), 'utf8'));
  if (unmet.length) process.stderr.write(`nodeos: kernel options not taken (dependencies): ${unmet.join(', ')}\n`);
  renameSync(tmp, dir);
  return tree;
}

export async function customKernel(initramfs: string): Promise<CustomKernel> {
  const pkg = sourcePackage();
  const key = createHash('sha256').update(readFileSync(FRAGMENT)).update(TREE_LAYOUT).digest('hex').slice(0, 12);
  const tree = await configuredTree(pkg, key);
  const target = join(tree, 'usr', 'nodeos.cpio');
  if (!readFileSync(target).equals(readFileSync(initramfs))) copyFileSync(initramfs, target);
  await progress('building the kernel (the first build takes 10+ minutes)', () => make(tree, [`-j${cpus().length + 1}`, 'bzImage'], 'building the kernel'));
  return { image: join(tree, 'arch', 'x86', 'boot', 'bzImage'), version: pkg.version, tree };
}
