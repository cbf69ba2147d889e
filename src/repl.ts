// The console: a Node.js REPL on /dev/console, the one thing a NodeOS machine
// always offers. Closing it (Ctrl-D, .exit) opens a new one; it only stops for
// shutdown, or when its input is gone for good (a pipe at EOF).
import repl, { type REPLServer } from 'node:repl';
import { readKernelLog, formatKmsgRecord } from './kmsg';
import type { Log } from './log';
import { readMountinfo } from './mountinfo';
import { commandLine, listProcesses } from './proc';
import type { PowerAction } from './shutdown';

export const PROMPT = 'nodeos> ';

/** Functions the REPL offers as globals. */
export const helpers = {
  /** The mount table, in mount order. */
  mounts: () => readMountinfo().map(({ target, fstype, source, options }) => ({ target, fstype, source, options })),
  /** The processes, kernel threads left out. */
  ps: () =>
    listProcesses()
      .filter((p) => !p.kernelThread)
      .map((p) => ({ pid: p.pid, ppid: p.ppid, state: p.state, command: commandLine(p) })),
  /** Prints the kernel log. */
  dmesg: () => {
    for (const record of readKernelLog()) console.log(formatKmsgRecord(record));
  },
};

export class ConsoleRepl {
  private server: REPLServer | undefined;
  private stopped = false;

  constructor(
    private readonly power: (action: PowerAction) => void,
    private readonly log: Log,
    /** More REPL globals, such as users(). */
    private readonly extra: Record<string, () => unknown> = {},
  ) {}

  start(): void {
    Object.assign(globalThis, helpers, this.extra, {
      reboot: () => this.power('reboot'),
      poweroff: () => this.power('poweroff'),
      halt: () => this.power('halt'),
    });
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.server?.close();
  }

  private open(): void {
    const terminal = Boolean(process.stdout.isTTY && process.stdin.isTTY);
    const server = repl.start({
      prompt: PROMPT,
      input: process.stdin,
      output: process.stdout,
      terminal,
      useColors: terminal,
      useGlobal: true,
      ignoreUndefined: true,
    });
    for (const action of ['reboot', 'poweroff', 'halt'] as const) {
      server.defineCommand(action, { help: `Shut down and ${action}`, action: () => this.power(action) });
    }
    server.on('exit', () => this.reopen());
    this.server = server;
  }

  private reopen(): void {
    if (this.stopped) return;
    if (process.stdin.readableEnded || process.stdin.destroyed) {
      this.log.info('console input closed; the REPL stays closed');
      return;
    }
    this.log.info('REPL closed; opening a new one (use .poweroff or .reboot to shut down)');
    this.open();
  }
}
