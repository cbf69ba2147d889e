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
  input: NodeJS.ReadableStream & { isTTY?: boolean; readableEnded: boolean; destroyed: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
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

/** Opens a console device for reading and writing, never as our controlling terminal. */
function openTerminal(name: string): Terminal {
  const fds = [0, 1].map(() => openSync(`/dev/${name}`, constants.O_RDWR | constants.O_NOCTTY)); // one each: libuv sets each stream's mode apart
  try {
    return { name, input: new tty.ReadStream(fds[0]), output: new tty.WriteStream(fds[1]) };
  } catch (err) {
    fds.forEach((fd) => closeSync(fd));
    throw err;
  }
}

/**
 * The terminals to serve: the kernel's consoles when the kernel is ours,
 * those that open (a console= naming a missing serial port is skipped, with
 * its reason); our stdio when none does.
 */
export function openTerminals(ownsKernel: boolean, log: Log, active = ACTIVE_CONSOLES): Terminal[] {
  if (!ownsKernel) return [stdioTerminal()];
  let names: string[] = [];
  try {
    names = parseActiveConsoles(readFileSync(active, 'utf8'));
  } catch (err) {
    log.warn(`cannot list the consoles (${(err as Error).message}); serving /dev/console only`);
  }
  const terminals: Terminal[] = [];
  for (const name of names) {
    try {
      terminals.push(openTerminal(name));
    } catch (err) {
      log.warn(`console ${name} skipped: ${(err as Error).message}`);
    }
  }
  return terminals.length ? terminals : [stdioTerminal()];
}
