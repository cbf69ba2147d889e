// PID 1 lives as long as the machine and mostly waits: it trades V8's peak
// speed for memory. Its #! line (build/compile.mjs) gives node
// --optimize-for-size (a small young generation: it is set when the heap is
// made), and once it is ready its functions stop at the baseline compiler:
// without Maglev and TurboFan (their code, the pages of node they run from,
// their working memory) PID 1 idled in 59 MB instead of 71-78 MB (with
// them off from /init on; off at ready, node's pages of the code they ran
// during the boot stay: 60.4-61.2 against 58.3-58.4 MB with users).
// WebAssembly, and fetch with it, still works (--lite-mode would take it
// away). Set after ready, not in /init: node:v8 needs node:stream, which
// nothing before ready does. Measured in the README's Boot speed section.
import { v8 } from './builtins';

export function stopAtBaselineCompiler(): void {
  v8().setFlagsFromString('--no-maglev --no-turbofan');
}
