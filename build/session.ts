// A console session with a running NodeOS: read what it prints, type into its
// REPL. The QEMU guest (serial console) and the namespace tests (pipes) both
// drive PID 1 through it.
import type { ChildProcess } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A process that may hang before it prints anything at all, started again
 * once if it does: QEMU under TCG has now and then printed nothing, not even
 * its firmware's first line, for minutes (its firmware prints within seconds).
 */
export interface Restart {
  start(): ChildProcess;
  /** No byte on stdout for this long after starting: killed and started again. */
  silentMs: number;
  what: string;
}

export class Session {
  /** Everything printed so far (stdout and stderr). */
  output = '';
  readonly exited: Promise<Exit>;
  /** How long eval waits for an answer unless told: longer where the guest's CPU is emulated from another arch. */
  answerMs = 30_000;
  private cursor = 0;
  private evals = 0;
  private current: ChildProcess;
  private readonly listeners = new Set<() => void>();

  constructor(child: ChildProcess, restart?: Restart) {
    this.current = child;
    this.exited = new Promise((resolve) => this.follow(child, resolve, restart));
  }

  /** The process now behind the session (another one after a restart). */
  get child(): ChildProcess {
    return this.current;
  }

  /** Called after each piece of output, whichever process printed it; returns a function that stops it. */
  onOutput(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private follow(child: ChildProcess, resolve: (exit: Exit) => void, restart?: Restart): void {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        this.output += chunk.toString('utf8');
        for (const listener of this.listeners) listener();
      });
    }
    const silent = restart ? setTimeout(() => {
      process.stderr.write(`session: ${restart.what} printed nothing in ${restart.silentMs} ms: killed and started again, once\n`);
      child.removeAllListeners('exit');
      child.kill('SIGKILL');
      this.current = restart.start();
      this.follow(this.current, resolve);
    }, restart.silentMs).unref() : undefined;
    if (silent) child.stdout?.once('data', () => clearTimeout(silent));
    child.on('exit', (code, signal) => {
      clearTimeout(silent);
      resolve({ code, signal });
    });
  }

  /** Waits until the output shows a match after the previous match; rejects after timeoutMs. */
  async expect(pattern: RegExp | string, timeoutMs: number): Promise<RegExpExecArray> {
    const regex = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = regex.exec(this.output.slice(this.cursor));
      if (match) {
        this.cursor += match.index + match[0].length;
        return match;
      }
      const ended = this.child.exitCode !== null || this.child.signalCode !== null;
      if (ended || Date.now() > deadline) {
        const why = ended ? `it exited (${this.child.exitCode ?? this.child.signalCode})` : `${timeoutMs} ms passed`;
        const tail = this.output.slice(-3000);
        // Also on stderr: tap shows only an error's first line, and a boot that hangs is known by how its output ends.
        process.stderr.write(`session: no ${regex}: ${why}; the output ends with:\n${tail}\n`);
        throw new Error(`no ${regex}: ${why}; output ends with:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until the output shows a match anywhere (the cursor stays where it is). */
  async seen(pattern: RegExp | string, timeoutMs: number): Promise<void> {
    const saved = this.cursor;
    this.cursor = 0;
    try {
      await this.expect(pattern, timeoutMs);
    } finally {
      this.cursor = saved;
    }
  }

  send(text: string): void {
    this.child.stdin!.write(text);
  }

  /**
   * Evaluates an expression (a promise is awaited) in the REPL and returns its
   * value as JSON text. The marker is built from pieces so echoed input never matches.
   */
  async eval(expression: string, timeoutMs = this.answerMs): Promise<string> {
    const id = `R${++this.evals}`;
    this.send(`void Promise.resolve(${expression}).then((v) => console.log('@' + '@${id}:' + JSON.stringify(v) + ':${id}@' + '@'))\n`);
    return withoutKernelLines((await this.expect(new RegExp(`@@${id}:([^]*?):${id}@@`), timeoutMs))[1]);
  }

  /** eval, parsed. */
  async value<T = unknown>(expression: string, timeoutMs?: number): Promise<T> {
    return JSON.parse(await this.eval(expression, timeoutMs)) as T;
  }
}

/**
 * An answer without the kernel's console lines: the kernel prints on the
 * serial line between any two bytes of a long answer (an OOM kill, a
 * driver), and only its lines end in a newline, as JSON text has none.
 */
export function withoutKernelLines(text: string): string {
  return text.replace(/\[ *\d+\.\d{6}\] (?:(?!\[ *\d+\.\d{6}\] )[^\n])*\n/g, '');
}
