// /init, the first JavaScript the kernel runs (and a container's entrypoint):
// it turns on Node's compile cache, V8's bytecode for PID 1's bundle made by
// the build with this very node (build/compile-cache.ts), then loads the
// bundle. Without it V8 parses and compiles the whole bundle at every boot,
// the largest part of PID 1's start-up after Node's own. A cache that is
// missing or made by another node is no failure: V8 then compiles from
// source, as if there were none, and PID 1 logs it (src/compile-cache.ts).
//
// PID 1 lives as long as the machine and mostly waits: it trades V8's peak
// speed for memory. Its #! line (build/compile.mjs) gives node
// --optimize-for-size (a small young generation: it is set when the heap
// is made), and here, before any of PID 1 runs, its functions stop at the
// baseline compiler: without Maglev and TurboFan (their code, the pages of
// node they run from, their working memory) PID 1 idles in 59 MB instead of
// 71-78 MB. WebAssembly, and fetch with it, still works (--lite-mode would
// take it away). Measured in the README's Boot speed section.
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { COMPILE_CACHE_DIR } from './compile-cache';

setFlagsFromString('--no-maglev --no-turbofan'); // V8 keys its cache by its flags: the build makes it through this file too
enableCompileCache({ directory: join(__dirname, COMPILE_CACHE_DIR), portable: true });
require('./init.js');
