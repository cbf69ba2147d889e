// The consoles: every one the kernel was given (`console=ttyS0 console=tty0`
// → the serial line and the screen), each a terminal with its own session.
// /dev/console is only the last of them; a PC with a screen and keyboard and
// a serial cable must answer on both. Where the kernel is not ours (a
// container, a namespace test) the console is our stdin and stdout.
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { tty } from './builtins';
import type { Log } from './log';

/**
 * A console PID 1 serves. Its streams are made at their first use: node:tty
 * (and net and stream with it, 0.3-0.5 s of an emulated CPU) then loads,
 * when the console is first served after ready, not on the path to it.
 */
export interface Terminal {
  /** The device name (ttyS0, tty1), or `console` for our stdio. */
  name: string;
  /** /dev/NAME, when the terminal is a device PID 1 opened (not our stdio). */
  device?: string;
  readonly input: NodeJS.ReadStream;
  readonly output: NodeJS.WriteStream;
  /** A log line: through output once that is made, else straight to the device. */
  print(text: string): void;
}

export const ACTIVE_CONSOLES = '/sys/class/tty/console/active';

/**
 * The devices behind the kernel's consoles, from the sysfs `active` file
 * ("tty0 ttyS0"). tty0 means whichever virtual terminal is in front: tty1,
 * the one shown at boot.
 */
export function parseActiveConsoles(text: string): string[] {
  const names = text.split(/\s+/).filter((name) => /^[\w.-]+$/.test(name)).map((name) => (name === 'tty0' ? 'tty1' : name));
  return [...new Set(names)];
}

/** Whether PID 1 has asked for process.stdout: until then log lines are written to fd 1 directly, without its stream. */
let stdoutMade = false;

/** Our stdin and stdout as the one terminal (a container's logs, a namespace test's). */
export const stdioTerminal = (): Terminal => ({
  name: 'console',
  get input() {
    return process.stdin;
  },
  get output() {
    stdoutMade = true;
    return process.stdout;
  },
  print(text) {
    let rest = Buffer.from(text);
    if (!stdoutMade)
      try {
        rest = rest.subarray(writeSync(1, rest));
      } catch {
        // Gone, or EAGAIN (someone made fd 1 non-blocking): the stream handles it from here.
      }
    if (!rest.length) return;
    stdoutMade = true;
    process.stdout.write(rest);
  },
});

/**
 * A console device, opened for reading and for writing (libuv sets each
 * stream's mode apart), never as our controlling terminal. An error on it
 * (EIO once hung up) is the console's state, not PID 1's crash: it is
 * reopened after the session that hung it up.
 */
class DeviceTerminal implements Terminal {
  readonly device: string;
  private fds: { input: number; output: number };
  private streams: { input: NodeJS.ReadStream; output: NodeJS.WriteStream } | undefined;

  constructor(readonly name: string) {
    this.device = `/dev/${name}`;
    this.fds = this.open();
  }

  get input(): NodeJS.ReadStream {
    return this.made().input;
  }

  get output(): NodeJS.WriteStream {
    return this.made().output;
  }

  print(text: string): void {
    if (this.streams) this.streams.output.write(text);
    else
      try {
        writeSync(this.fds.output, text);
      } catch {
        // Hung up, or gone: as an error on its stream would be
      }
  }

  /**
   * After a user's session had the terminal: when its session leader exits
   * the kernel hangs the terminal up, and every file open on it (ours too)
   * gives EIO from then on. PID 1 opens it afresh.
   */
  reopen(): void {
    if (this.streams) {
      if (!this.streams.input.destroyed) this.streams.input.destroy();
      this.streams.output.destroy(); // the streams close their fds
    } else for (const fd of [this.fds.input, this.fds.output]) closeSync(fd);
    this.streams = undefined;
    this.fds = this.open();
  }

  private open(): { input: number; output: number } {
    const input = openSync(this.device, constants.O_RDWR | constants.O_NOCTTY);
    try {
      return { input, output: openSync(this.device, constants.O_RDWR | constants.O_NOCTTY) };
    } catch (err) {
      closeSync(input);
      throw err;
    }
  }

  private made(): { input: NodeJS.ReadStream; output: NodeJS.WriteStream } {
    if (!this.streams) {
      const { ReadStream, WriteStream } = tty();
      this.streams = { input: new ReadStream(this.fds.input).on('error', () => {}), output: new WriteStream(this.fds.output).on('error', () => {}) };
    }
    return this.streams;
  }
}

/** Opens a served console afresh (after a session hung it up, or blessed held it); our stdio stays as it is. */
export function reopenTerminal(terminal: Terminal): void {
  if (terminal instanceof DeviceTerminal) terminal.reopen();
}

/** Consoles that would not open, already said. */
const skipped = new Set<string>();

/**
 * The terminals to serve: the kernel's consoles when the kernel is ours,
 * those that open (a console= naming a missing serial port is skipped, with
 * its reason); our stdio when none does. `open` are those already served:
 * kept, and not opened twice (a console whose driver came later joins them).
 */
export function openTerminals(ownsKernel: boolean, log: Log, active = ACTIVE_CONSOLES, open: readonly Terminal[] = []): Terminal[] {
  if (!ownsKernel) return [stdioTerminal()];
  let names: string[] = [];
  try {
    names = parseActiveConsoles(readFileSync(active, 'utf8'));
  } catch (err) {
    log.warn(`cannot list the consoles (${(err as Error).message}); serving /dev/console only`);
  }
  const terminals = open.filter((t) => t.device);
  for (const name of names) {
    if (terminals.some((t) => t.name === name)) continue;
    try {
      terminals.push(new DeviceTerminal(name));
    } catch (err) {
      if (!skipped.has(name)) log.warn(`console ${name} skipped: ${(err as Error).message}`);
      skipped.add(name); // looked at again once drivers are in: said once
    }
  }
  if (terminals.length) return terminals;
  return open.length ? [...open] : [stdioTerminal()];
}
