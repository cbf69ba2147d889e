// The official Node.js binary for the image, from the npm registry's
// node-linux-<arch> package (the registry is the one place we may download
// from), cached and stripped with the arch's binutils; and the libraries it
// links against, from the host for its own arch or from Debian's packages.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { aptFor, downloadDeb, type PrivateApt } from './apt';
import { CACHE } from './paths';
import { exec, progress } from './exec';
import { archInfo, NODE_VERSION } from './versions';

export interface NodeDist {
  version: string;
  /** The extracted package: bin/node, include/node (node-gyp's --nodedir). */
  dir: string;
  /** bin/node without symbols: what the image ships. */
  stripped: string;
}

/** Fetches (once) and returns the pinned Node.js for an architecture. */
export async function nodeDist(arch: string): Promise<NodeDist> {
  const pkg = archInfo(arch).nodePackage;
  const dir = join(CACHE, 'node', `${pkg}-${NODE_VERSION}`);
  const stripped = join(dir, 'node.stripped');
  if (!existsSync(join(dir, 'bin', 'node'))) await progress(`fetching ${pkg}@${NODE_VERSION} from the npm registry`, () => fetchPackage(`${pkg}@${NODE_VERSION}`, dir));
  if (!existsSync(stripped)) {
    exec('strip node', `${archInfo(arch).triplet}-strip`, ['--strip-all', '-o', `${stripped}.tmp`, join(dir, 'bin', 'node')]);
    renameSync(`${stripped}.tmp`, stripped);
  }
  return { version: NODE_VERSION, dir, stripped };
}

/** Downloads an npm package (name@version) and unpacks it at dir (its package/ folder). */
export function fetchPackage(spec: string, dir: string): void {
  const downloads = join(CACHE, 'downloads');
  mkdirSync(downloads, { recursive: true });
  const tarball = exec('npm pack', 'npm', ['pack', '--silent', '--pack-destination', downloads, spec], { cwd: downloads }).trim().split('\n').pop()!;
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    exec(`extract ${spec}`, 'tar', ['-xzf', join(downloads, tarball), '-C', tmp]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(tmp, 'package'), dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** What a dynamic ELF binary asks for, from `readelf -d -l` (any arch): its NEEDED libraries and its interpreter. */
export function parseReadelf(output: string): { needed: string[]; interpreter?: string } {
  const needed = [...output.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const interpreter = /Requesting program interpreter: ([^\]]+)\]/.exec(output)?.[1];
  return { needed, interpreter };
}

/** A path inside a sysroot with its symlinks followed inside it too (an absolute link means the sysroot's /). */
function resolveIn(sysroot: string, path: string): string | undefined {
  let at = join(sysroot, path);
  for (let hops = 0; hops < 16; hops++) {
    if (!existsSync(at)) return undefined;
    if (!lstatSync(at).isSymbolicLink()) return at;
    const target = readlinkSync(at);
    at = isAbsolute(target) ? join(sysroot, target) : join(dirname(at), target);
  }
  return undefined;
}

/**
 * The shared libraries a binary needs, transitively, from a sysroot (the host's
 * own / for its arch, Debian's packages unpacked for another): each at
 * /lib/TRIPLET/NAME, where the dynamic linker looks, and the interpreter at
 * the path the binary names.
 */
export function sharedLibraries(binary: string, triplet: string, sysroot = '/'): { path: string; data: Buffer }[] {
  const dirs = [`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib', '/lib64'];
  const found = new Map<string, Buffer>();
  let loader = '';
  const visit = (file: string) => {
    const { needed, interpreter } = parseReadelf(exec('readelf', 'readelf', ['-d', '-l', '-W', file]));
    if (interpreter && !found.has(interpreter)) {
      const at = resolveIn(sysroot, interpreter);
      if (!at) throw new Error(`${binary}: interpreter ${interpreter} not in ${sysroot}`);
      found.set(interpreter, readFileSync(at));
      loader = basename(interpreter);
    }
    for (const name of needed) {
      const path = `/lib/${triplet}/${name}`;
      if (found.has(path) || name === loader) continue; // the dynamic linker, once, where binaries look for it
      const at = dirs.map((d) => resolveIn(sysroot, `${d}/${name}`)).find(Boolean);
      if (!at) throw new Error(`${binary}: ${name} not found in ${sysroot} (${dirs.join(', ')})`);
      found.set(path, readFileSync(at));
      visit(at);
    }
  };
  visit(binary);
  return [...found].map(([path, data]) => ({ path, data }));
}

/** The C and C++ runtime libraries for another arch: Debian's packages unpacked into the cache. */
async function debianSysroot(arch: string, apt: PrivateApt): Promise<string> {
  const packages = RUNTIME_PACKAGES.map((name) => {
    const pkg = apt.resolve(name);
    if (!pkg) throw new Error(`sysroot: apt knows no ${name}:${archInfo(arch).debArch}`);
    return pkg;
  });
  const dir = join(CACHE, 'sysroot', `${archInfo(arch).debArch}-${packages.map((p) => `${p.name}_${p.version}`).join('-').replace(/[^\w.+-]/g, '_')}`);
  if (!existsSync(dir)) {
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const pkg of packages) exec(`unpack ${pkg.name}`, 'dpkg-deb', ['-x', await downloadDeb(pkg, apt), tmp]);
    renameSync(tmp, dir);
  }
  return dir;
}

/** glibc, libstdc++ and libgcc_s: what the official Node binary links. */
const RUNTIME_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'];

/** Where an arch's libraries come from: the host for its own arch, Debian's packages for another. */
export async function sysrootFor(arch: string): Promise<string> {
  const apt = aptFor(arch);
  return apt ? debianSysroot(arch, apt) : '/';
}
