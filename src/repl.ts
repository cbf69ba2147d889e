// PID 1's REPL: Node.js on a terminal as root, with the system's helpers and
// power control, the one thing a NodeOS machine always offers. Each console
// gets its own globals, so `console.log` prints where it was typed. What runs
// when it closes is the console's business (console-sessions.ts).
import type { REPLServer } from 'node:repl';
import { readKernelLog, formatKmsgRecord } from './kmsg';
import type { Terminal } from './consoles';
import type { Log } from './log';
import { readMountinfo } from './mountinfo';
import { repairFilesystem } from './fsck';
import { readLogs } from './log-files';
import { commandLine, listProcesses } from './proc';
import type { PowerAction } from './shutdown';

export const PROMPT = 'nodeos> ';

/** Functions the REPL offers as globals; what they print goes to `output`. */
export const helpers = (output: NodeJS.WritableStream) => ({
  /** The mount table, in mount order. */
  mounts: () => readMountinfo().map(({ target, fstype, source, options }) => ({ target, fstype, source, options })),
  /** The processes, kernel threads left out. */
  ps: () =>
    listProcesses()
      .filter((p) => !p.kernelThread)
      .map((p) => ({ pid: p.pid, ppid: p.ppid, state: p.state, command: commandLine(p) })),
  /** Prints the last lines of PID 1's log on the users partition, or of a user's init.log. */
  logs: (name?: string, lines = 40) => void output.write(readLogs(name, lines)),
  /** Checks and repairs an ext2/3/4 filesystem (e2fsck -f -y): what the boot says to run when e2fsck -p could not fix it. */
  fsck: (device: string) => void output.write(`${repairFilesystem(device)}\n`),
  /** Prints the kernel log. */
  dmesg: () => {
    for (const record of readKernelLog()) output.write(`${formatKmsgRecord(record)}\n`);
  },
});

/** How a REPL ended: closed by its user (.exit, Ctrl-D), its input gone for good, stopped for shutdown, or left for the dashboard. */
export type ReplEnd = 'closed' | 'ended' | 'stopped' | 'dashboard';

/** PID 1's REPL on one terminal, as root: the system helpers, and power control when given. */
export class ConsoleRepl {
  private server: REPLServer | undefined;
  private stopped = false;

  constructor(
    private readonly terminal: Terminal,
    private readonly power: (action: PowerAction) => void,
    private readonly log: Log,
    /** More REPL globals, such as users(). */
    private readonly extra: Record<string, () => unknown> = {},
    /** dashboard() is offered (there are users to show). */
    private readonly withDashboard = false,
  ) {}

  private ending: ReplEnd | undefined;

  /** One REPL, until it ends. */
  run(): Promise<ReplEnd> {
    if (this.stopped) return Promise.resolve('stopped');
    const { input, output } = this.terminal;
    const terminal = Boolean(input.isTTY && output.isTTY);
    // Required here, not imported: node:repl is the heaviest module PID 1 uses and no
    // part of boot (nor can it be in a startup snapshot); it loads when a console first needs it.
    const repl = require('node:repl') as typeof import('node:repl');
    const server = repl.start({
      prompt: PROMPT,
      input,
      output,
      terminal,
      useColors: terminal,
      ignoreUndefined: true,
    });
    const globals = (context: object) =>
      Object.assign(context, helpers(output), this.extra, {
        reboot: () => this.request('reboot'),
        poweroff: () => this.request('poweroff'),
        halt: () => this.request('halt'),
        ...(this.withDashboard && {
          dashboard: () => {
            this.ending = 'dashboard';
            server.close();
          },
        }),
      });
    globals(server.context);
    server.on('reset', globals); // .clear makes a new context
    for (const action of ['reboot', 'poweroff', 'halt'] as const) {
      server.defineCommand(action, { help: `Shut down and ${action}`, action: () => this.request(action) });
    }
    this.server = server;
    return new Promise((resolve) =>
      server.on('exit', () => resolve(this.stopped ? 'stopped' : (this.ending ?? (input.readableEnded || input.destroyed ? 'ended' : 'closed')))),
    );
  }

  stop(): void {
    this.stopped = true;
    this.server?.close();
  }

  /** Which console asked is worth a line: the machine may have several. */
  private request(action: PowerAction): void {
    this.log.info(`${this.terminal.name}: ${action}`);
    this.power(action);
  }
}
