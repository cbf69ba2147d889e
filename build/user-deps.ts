// Build-time installs: a home with a package.json gets its dependencies on the
// host, for the image's os and cpu, so the image boots offline with them in
// place. The tree is copied first (the caller's folder is left as it was);
// npm is the image's own pinned npm, run by the host's node; install scripts
// do not run (they would run on the host, for the host): a dependency with a
// native addon and no prebuilt binary for the target is an error naming it.
import { existsSync, lchownSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { exec, execAsync, progress } from './exec';
import { npmPackage } from './npm';
import { archInfo } from './versions';

/** Folders below node_modules that are packages (scoped ones included). */
function packages(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  return readdirSync(nodeModules).flatMap((name) => {
    if (name.startsWith('.')) return [];
    const dir = join(nodeModules, name);
    if (name.startsWith('@')) return packages(dir);
    return [dir, ...packages(join(dir, 'node_modules'))];
  });
}

/** A package needs compiling when it has a binding.gyp (or says gypfile) and ships no binary for the target. */
export function nativeWithoutPrebuild(dir: string, target: string): boolean {
  let manifest: { gypfile?: boolean } = {};
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    return false;
  }
  if (!existsSync(join(dir, 'binding.gyp')) && !manifest.gypfile) return false;
  const binaries = [join(dir, 'prebuilds', target), join(dir, 'build', 'Release')];
  return !binaries.some((folder) => existsSync(folder) && readdirSync(folder).some((file) => file.endsWith('.node')));
}

function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}

/** The homes (top-level folders) that have a package.json. */
export const homesWithPackages = (dir: string) =>
  readdirSync(dir).filter((name) => !name.startsWith('.') && existsSync(join(dir, name, 'package.json')) && lstatSync(join(dir, name)).isDirectory());

/**
 * Copies `dir` beside `out` and installs each home's dependencies in the copy
 * (npm ci with a lockfile, npm install without); returns the copy, or `dir`
 * itself when no home has a package.json.
 */
export async function installUserDependencies(dir: string, out: string, arch: string, registry?: string): Promise<string> {
  const homes = homesWithPackages(dir);
  if (homes.length === 0) return dir;
  const stage = join(mkdtempSync(join(dirname(out), '.users-')), 'tree');
  try {
    exec('copying the users tree', 'cp', ['-a', dir, stage]); // owners and modes kept: they become the users' uids
    for (const name of homes) await install(join(stage, name), name, arch, registry);
  } catch (err) {
    rmSync(dirname(stage), { recursive: true, force: true });
    throw err;
  }
  return stage;
}

/** One home: npm ci (or install), the native check, and the user's ownership. */
async function install(home: string, name: string, arch: string, registry: string | undefined): Promise<void> {
  const { npmCpu } = archInfo(arch);
  const target = `linux-${npmCpu}`;
  const lock = existsSync(join(home, 'package-lock.json')) || existsSync(join(home, 'npm-shrinkwrap.json'));
  const args = [join(await npmPackage(), 'bin', 'npm-cli.js'), lock ? 'ci' : 'install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--os=linux', `--cpu=${npmCpu}`];
  if (registry) args.push(`--registry=${registry}`);
  await progress(`installing ${name}'s dependencies (npm ${lock ? 'ci' : 'install'}, ${target})`, () => execAsync(`${name}: npm`, process.execPath, args, { cwd: home }));
  const native = packages(join(home, 'node_modules')).filter((pkg) => nativeWithoutPrebuild(pkg, target));
  if (native.length) {
    const names = native.map((pkg) => relative(join(home, 'node_modules'), pkg).replace(/\/node_modules\//g, ' > '));
    throw new Error(`${name}: ${names.join(', ')} ${native.length > 1 ? 'have native addons' : 'has a native addon'} with no prebuilt binary for ${target}; NodeOS images carry no compiler: use a package with prebuilds, or build it for ${target} and vendor it`);
  }
  // The user owns what was installed for them (as the home's owner, when we may).
  const { uid, gid } = lstatSync(home);
  if (process.getuid?.() === 0) for (const entry of ['node_modules', 'package-lock.json']) if (existsSync(join(home, entry))) chownTree(join(home, entry), uid, gid);
}
