// PID 1 lives as long as the machine and mostly waits: it trades V8's peak
// speed for memory. Its #! line (build/compile.mjs) gives node
// --optimize-for-size (a small young generation: it is set when the heap is
// made), and /init (src/boot.ts) stops its functions at the baseline
// compiler before loading the bundle: without Maglev and TurboFan (their
// code, the pages of node they run from, their working memory) PID 1 idled
// in 59 MB instead of 71-78 MB. From the very start: node's path functions
// became hot for Maglev while the bundle loaded, and the pages of node that
// its one compile ran stayed in PID 1's RSS for good (2 MB). The addon sets
// the flags, as #! takes one option and node:v8 would bring node:stream onto
// the path to ready. WebAssembly, and fetch with it, still works
// (--lite-mode would take it away). Measured in the README's Boot speed
// section.
import type { Sys } from './sys';

export function stopAtBaselineCompiler(sys: Sys): void {
  sys.setV8Flags('--no-maglev --no-turbofan');
}
