// A console session with a running NodeOS: read what it prints, type into its
// REPL. The QEMU guest (serial console) and the namespace tests (pipes) both
// drive PID 1 through it.
import type { ChildProcess } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Session {
  /** Everything printed so far (stdout and stderr). */
  output = '';
  readonly exited: Promise<Exit>;
  private cursor = 0;
  private evals = 0;

  constructor(readonly child: ChildProcess) {
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
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
  async eval(expression: string, timeoutMs = 30_000): Promise<string> {
    const id = `R${++this.evals}`;
    this.send(`void Promise.resolve(${expression}).then((v) => console.log('@' + '@${id}:' + JSON.stringify(v) + ':${id}@' + '@'))\n`);
    return (await this.expect(new RegExp(`@@${id}:(.*?):${id}@@`), timeoutMs))[1];
  }

  /** eval, parsed. */
  async value<T = unknown>(expression: string, timeoutMs?: number): Promise<T> {
    return JSON.parse(await this.eval(expression, timeoutMs)) as T;
  }
}
