// /init, the first JavaScript the kernel runs (and a container's entrypoint):
// it stops V8 at its baseline compiler (src/compilers.ts), turns on Node's
// compile cache, V8's bytecode for PID 1's bundle made by the build with this
// very node (build/compile-cache.ts), then loads the bundle. Without the cache
// V8 parses and compiles the whole bundle at every boot, the largest part of
// PID 1's start-up after Node's own. A cache that is missing or made by
// another node is no failure: V8 then compiles from source, as if there were
// none, and PID 1 logs it (src/compile-cache.ts).
// Its #! line (build/compile.mjs) gives node --optimize-for-size: see
// src/compilers.ts. Nothing else is loaded here: node:v8 alone would bring
// node:stream onto the path to ready. The bundle uses the addon loaded
// here (src/sys.ts).
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { COMPILE_CACHE_DIR } from './compile-cache';
import { stopAtBaselineCompiler } from './compilers';
import { sys } from './sys';

try {
  stopAtBaselineCompiler(sys()); // first: the cache's folder is named for V8's flags, and loading the bundle made node's path code hot enough for Maglev
} catch {
  // No addon: the bundle says so (it needs one too), and only PID 1's memory is the worse for it.
}
enableCompileCache({ directory: join(__dirname, COMPILE_CACHE_DIR), portable: true });
require('./init.js');
