// Booting a manifest in QEMU: `nodeos run` on the terminal, and Guest, a
// session driven over the serial console by the tests and the benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { accelArgs, chooseAccel } from './accel';
import { readManifest } from './image';
import { archInfo } from './versions';

export interface BootOptions {
  /** Extra kernel command line words. */
  append?: string;
  /** A guest reboot ends QEMU instead of restarting the guest. */
  noReboot?: boolean;
  memory?: string;
  /** Boot this initramfs instead of the manifest's (the benchmark's floor image). */
  initramfs?: string;
}

export function qemuCommand(manifestPath: string, options: BootOptions = {}): { command: string; args: string[] } {
  const manifest = readManifest(manifestPath);
  const dir = dirname(manifestPath);
  const qemu = archInfo(manifest.arch).qemu;
  const kernel = join(dir, manifest.kernel.path);
  const args = [
    '-nographic',
    ...['-m', options.memory ?? '1G', '-smp', '2'],
    ...accelArgs(chooseAccel(qemu, kernel)),
    ...['-kernel', kernel],
    ...['-initrd', options.initramfs ?? join(dir, manifest.initramfs.path)],
    ...['-append', [manifest.cmdline, options.append].filter(Boolean).join(' ')],
    ...(options.noReboot ? ['-no-reboot'] : []),
  ];
  return { command: qemu, args };
}

/** Boots on this terminal; resolves with QEMU's exit code (0 after a power-off). */
export function runInteractive(manifestPath: string, options: BootOptions): Promise<number> {
  const { command, args } = qemuCommand(manifestPath, options);
  return new Promise((resolve, reject) => {
    const qemu = spawn(command, args, { stdio: 'inherit' });
    qemu.on('error', (err) => reject(new Error(`run: cannot start ${command}: ${err.message} (apt-get install qemu-system-x86)`)));
    qemu.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? 15 : 0)));
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A booted guest whose serial console we read and type into. */
export class Guest {
  /** Everything the console printed so far. */
  output = '';
  readonly exited: Promise<Exit>;
  private cursor = 0;
  private readonly qemu: ChildProcess;
  private evals = 0;

  constructor(manifestPath: string, options: BootOptions = {}) {
    const { command, args } = qemuCommand(manifestPath, { noReboot: true, ...options });
    this.qemu = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    for (const stream of [this.qemu.stdout!, this.qemu.stderr!]) stream.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.qemu.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Waits until the console prints a match after the previous one; rejects after timeoutMs. */
  async expect(pattern: RegExp | string, timeoutMs: number): Promise<RegExpExecArray> {
    const regex = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = regex.exec(this.output.slice(this.cursor));
      if (match) {
        this.cursor += match.index + match[0].length;
        return match;
      }
      if (Date.now() > deadline) throw new Error(`guest: no ${regex} within ${timeoutMs} ms; console ends with:\n${this.output.slice(-2000)}`);
      if (this.qemu.exitCode !== null) throw new Error(`guest: QEMU exited (${this.qemu.exitCode}) before ${regex}; console ends with:\n${this.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  send(text: string): void {
    this.qemu.stdin!.write(text);
  }

  /**
   * Evaluates an expression in the guest's REPL and returns its value as JSON
   * text. The marker is built from pieces so the echoed input never matches.
   */
  async eval(expression: string, timeoutMs = 30_000): Promise<string> {
    const id = `R${++this.evals}`;
    this.send(`Promise.resolve(${expression}).then((v) => console.log('@' + '@${id}:' + JSON.stringify(v) + ':${id}@' + '@'))\n`);
    return (await this.expect(new RegExp(`@@${id}:(.*?):${id}@@`), timeoutMs))[1];
  }

  kill(): void {
    this.qemu.kill('SIGKILL');
  }
}
