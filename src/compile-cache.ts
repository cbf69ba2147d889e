// What PID 1 says about the compile cache /init turned on (src/boot.ts).
import { readdirSync } from 'node:fs';
import { getCompileCacheDir } from 'node:module';

/** Beside the bundle: lib/nodeos/compile-cache/<node version, arch, V8 flags>/<one file per script>. */
export const COMPILE_CACHE_DIR = 'compile-cache';

/** Why PID 1's bundle was compiled from source at this start, or undefined when V8 had a cache to use. */
export function compileCacheProblem(): string | undefined {
  const dir = getCompileCacheDir?.(); // where this node keeps its cache for itself, when it is on
  if (!dir) return 'off (started without /init): PID 1 was compiled from source';
  try {
    if (readdirSync(dir).length > 0) return undefined;
  } catch {
    // none made for this node
  }
  return `none for this node (${process.version} ${process.arch}) in ${dir}: PID 1 was compiled from source`;
}
