// PID 1's REPL: Node.js on a terminal as root, with the system's helpers and
// power control, the one thing a NodeOS machine always offers. Like node's
// own REPL it runs in PID 1's global scope: a context of its own would copy
// every global, and with them load all of undici (fetch's classes), which
// took half a second before each prompt. What a line typed on a console
// prints (console.log, the helpers) still goes to that console: the line and
// all it starts (its promises, timers) run with that REPL as their async
// context. What runs when it closes is the console's business
// (console-sessions.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import { Console } from 'node:console';
import type { REPLEval, REPLServer } from 'node:repl';
import * as builtins from './builtins';
import { readKernelLog, formatKmsgRecord } from './kmsg';
import type { Terminal } from './consoles';
import type { Log } from './log';
import { readMountinfo } from './mountinfo';
import { repairFilesystem } from './fsck';
import { readLogs } from './log-files';
import { commandLine, listProcesses } from './proc';
import type { PowerAction } from './shutdown';

export const PROMPT = 'nodeos> ';

/** Functions the REPL offers as globals; what they print goes to `output()`. */
export const helpers = (output: () => NodeJS.WritableStream) => ({
  /** The mount table, in mount order. */
  mounts: () => readMountinfo().map(({ target, fstype, source, options }) => ({ target, fstype, source, options })),
  /** The processes, kernel threads left out. */
  ps: () =>
    listProcesses()
      .filter((p) => !p.kernelThread)
      .map((p) => ({ pid: p.pid, ppid: p.ppid, state: p.state, command: commandLine(p) })),
  /** Prints the last lines of PID 1's log on the users partition, or of a user's init.log. */
  logs: (name?: string, lines = 40) => void output().write(readLogs(name, lines)),
  /** Checks and repairs an ext2/3/4 filesystem (e2fsck -f -y): what the boot says to run when e2fsck -p could not fix it. */
  fsck: (device: string) => void output().write(`${repairFilesystem(device)}\n`),
  /** Prints the kernel log. */
  dmesg: () => {
    for (const record of readKernelLog()) output().write(`${formatKmsgRecord(record)}\n`);
  },
});

/** The REPL a line was typed into, while that line and what it started run. */
const typedIn = new AsyncLocalStorage<ConsoleRepl>();

/** node:repl, once a console has needed it. */
let replModule: ReturnType<typeof builtins.repl> | undefined;

let consoleRouted = false;

/** `console` for all of PID 1: the REPL's own while its lines run, PID 1's everywhere else. Made once. */
function routeConsole(): void {
  if (consoleRouted) return;
  consoleRouted = true;
  globalThis.console = new Proxy(globalThis.console, { get: (own, key) => Reflect.get(typedIn.getStore()?.console ?? own, key) });
}

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
  ) {
    this.console = new Console(terminal.output);
  }

  private ending: ReplEnd | undefined;
  /** What console.log in this REPL's lines writes to: its terminal. */
  readonly console: Console;

  /** Ends the wait for a first key (stop()). */
  private cancelWait: (() => void) | undefined;

  /** One REPL, until it ends. */
  async run(): Promise<ReplEnd> {
    if (this.stopped) return 'stopped';
    const { input, output } = this.terminal;
    const terminal = Boolean(input.isTTY && output.isTTY);
    if (terminal && !replModule) {
      const key = await this.firstKey();
      if (key !== 'key') return key;
    }
    // Required here, not imported: node:repl is the heaviest module PID 1 uses and no
    // part of boot (nor can it be in a startup snapshot); it loads when a console first needs it.
    const repl = (replModule ??= builtins.repl());
    routeConsole();
    const server = repl.start({
      prompt: PROMPT,
      input,
      output,
      terminal,
      useColors: terminal,
      ignoreUndefined: true,
      useGlobal: true,
    });
    // Each line runs with this REPL as its async context (Node's REPL looks its eval up on itself for every line).
    const owner = this;
    const evaluate = server.eval;
    (server as { eval: REPLEval }).eval = function (code, context, file, callback) {
      typedIn.run(owner, () => evaluate.call(this, code, context, file, callback));
    };
    // Globals shared by every console's REPL: each call acts for the REPL it was typed in (else for this one).
    const here = () => typedIn.getStore() ?? this;
    const globals = (context: object) =>
      Object.assign(context, helpers(() => here().terminal.output), this.extra, {
        reboot: () => here().request('reboot'),
        poweroff: () => here().request('poweroff'),
        halt: () => here().request('halt'),
        ...(this.withDashboard && { dashboard: () => here().leaveForDashboard() }),
      });
    globals(server.context);
    server.on('reset', globals); // .clear
    for (const action of ['reboot', 'poweroff', 'halt'] as const) {
      server.defineCommand(action, { help: `Shut down and ${action}`, action: () => this.request(action) });
    }
    this.server = server;
    return new Promise((resolve) =>
      server.on('exit', () => resolve(this.stopped ? 'stopped' : (this.ending ?? (input.readableEnded || input.destroyed ? 'ended' : 'closed')))),
    );
  }

  /**
   * The prompt at once, node:repl at the first key (busybox init's askfirst,
   * without its "press Enter"): on a machine nobody types at it never loads,
   * and about 2 MB of PID 1 stay free. The terminal is put in raw mode, as
   * readline would, so the key comes at once and unechoed; it is handed back
   * to the input for the REPL, whose readline redraws the prompt's line when
   * it starts. (A pipe could not be redrawn: there the REPL starts at once.)
   */
  private firstKey(): Promise<'key' | 'ended' | 'stopped'> {
    const { input, output } = this.terminal;
    output.write(PROMPT);
    input.setRawMode(true);
    return new Promise((resolve) => {
      const done = (end: 'key' | 'ended' | 'stopped') => {
        input.off('data', onData).off('end', onEnd).pause();
        this.cancelWait = undefined;
        resolve(end);
      };
      const onData = (chunk: Buffer) => {
        done('key');
        input.unshift(chunk);
      };
      const onEnd = () => done('ended');
      this.cancelWait = () => done('stopped');
      input.on('data', onData).on('end', onEnd).resume();
    });
  }

  stop(): void {
    this.stopped = true;
    this.cancelWait?.();
    this.server?.close();
  }

  /** Closes this REPL for the dashboard (console-sessions.ts shows it, then a new REPL). */
  private leaveForDashboard(): void {
    this.ending = 'dashboard';
    this.server?.close();
  }

  /** Which console asked is worth a line: the machine may have several. */
  private request(action: PowerAction): void {
    this.log.info(`${this.terminal.name}: ${action}`);
    this.power(action);
  }
}
