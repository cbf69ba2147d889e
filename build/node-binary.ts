// The official Node.js binary for the image, from the npm registry's
// node-linux-<arch> package (the registry is the one place we may download
// from), cached and stripped; and the host libraries it links against.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
    exec('strip node', 'strip', ['--strip-all', '-o', `${stripped}.tmp`, join(dir, 'bin', 'node')]);
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

/** The absolute paths in `ldd` output (the vDSO has none and is skipped). */
export function parseLdd(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (match) paths.push(match[1]);
  }
  return paths;
}

/** The libraries a binary needs, read from the host at the paths the dynamic linker uses. */
export function sharedLibraries(binary: string): { path: string; data: Buffer }[] {
  return parseLdd(exec('ldd', 'ldd', [binary])).map((path) => ({ path, data: readFileSync(realpathSync(path)) }));
}
