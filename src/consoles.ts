// The consoles: every one the kernel was given (`console=ttyS0 console=tty0`
// → the serial line and the screen), each a terminal with its own session.
// /dev/console is only the last of them; a PC with a screen and keyboard and
// a serial cable must answer on both. Where the kernel is not ours (a
// container, a namespace test) the console is our stdin and stdout.
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import tty from 'node:tty';
import type { Log } from './log';

export interface Terminal {
  /** The device name (ttyS0, tty1), or `console` for our stdio. */
  name: string;
  /** /dev/NAME, when the terminal is a device PID 1 opened (not our stdio). */
  device?: string;
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
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

/** Our stdin and stdout as the one terminal. */
export const stdioTerminal = (): Terminal => ({ name: 'console', input: process.stdin, output: process.stdout });

/**
 * A console device opened for reading or writing, never as our controlling
 * terminal. An error on it (EIO once hung up) is the console's state, not
 * PID 1's crash: it is reopened after the session that hung it up.
 */
function openStream<T extends NodeJS.EventEmitter>(name: string, make: (fd: number) => T): T {
  const fd = openSync(`/dev/${name}`, constants.O_RDWR | constants.O_NOCTTY);
  try {
    return make(fd).on('error', () => {});
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

// Input and output on files of their own: libuv sets each stream's mode apart.
const openTerminal = (name: string): Terminal => ({ name, device: `/dev/${name}`, input: openStream(name, (fd) => new tty.ReadStream(fd)), output: openStream(name, (fd) => new tty.WriteStream(fd)) });

/**
 * After a user's session had the terminal: when its session leader exits the
 * kernel hangs the terminal up, and every file open on it (ours too) gives
 * EIO from then on. PID 1 opens it afresh.
 */
export function reopenTerminal(terminal: Terminal): void {
  if (!terminal.input.destroyed) terminal.input.destroy();
  terminal.output.destroy();
  Object.assign(terminal, openTerminal(terminal.name));
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
      terminals.push(openTerminal(name));
    } catch (err) {
      if (!skipped.has(name)) log.warn(`console ${name} skipped: ${(err as Error).message}`);
      skipped.add(name); // looked at again once drivers are in: said once
    }
  }
  if (terminals.length) return terminals;
  return open.length ? [...open] : [stdioTerminal()];
}
