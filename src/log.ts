// One logger for PID 1: "nodeos: step: message" on every console and, once
// /dev is mounted, as one /dev/kmsg record per line ("<prio>nodeos: …") so our
// lines sit in dmesg beside the kernel's, with its timestamps.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import winston from 'winston';
import Transport from 'winston-transport';
import type { LogLevel } from './config';

// syslog priorities: the kernel keeps them and `dmesg` filters by them.
const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };

interface Entry {
  level: LogLevel;
  message: string;
  step?: string;
}

const line = (entry: Entry) => `nodeos: ${entry.step ? `${entry.step}: ` : ''}${entry.message}`;

class KmsgTransport extends Transport {
  constructor(private readonly fd: number) {
    super();
  }

  override log(entry: Entry, done: () => void): void {
    try {
      writeSync(this.fd, `<${PRIORITY[entry.level]}>${line(entry)}\n`);
    } catch {
      // The kernel drops records over its size limit (EINVAL): the console still has them.
    }
    done();
  }

  override close(): void {
    closeSync(this.fd);
  }
}

// Lines the kernel echoes on its consoles itself are not printed twice.
let kernelEchoesBelow = 0;

/** Our stdout until the consoles are open, then each of them (asked each time: a console's streams are reopened after a logout). */
class ConsolesTransport extends Transport {
  outputs: () => NodeJS.WritableStream[] = () => [process.stdout];

  override log(entry: Entry, done: () => void): void {
    if (PRIORITY[entry.level] >= kernelEchoesBelow) for (const output of this.outputs()) output.write(`${line(entry)}\n`);
    done();
  }
}

const consoles = new ConsolesTransport();
const root = winston.createLogger({ levels: { error: 0, warn: 1, info: 2, debug: 3 }, level: 'info', transports: [consoles] });

/** From now on, log lines go to these consoles (every terminal PID 1 serves). */
export function logToConsoles(outputs: () => NodeJS.WritableStream[]): void {
  consoles.outputs = outputs;
}

export interface Log {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** A logger whose lines are prefixed with the boot step or concern they come from. */
export function logger(step: string): Log {
  return root.child({ step }) as unknown as Log;
}

export function setLogLevel(level: LogLevel): void {
  root.level = level;
}

/**
 * Adds /dev/kmsg as a destination. When our stdout is the kernel's console, the
 * kernel already prints records under its console_loglevel there, so the
 * console transport skips those.
 */
export function attachKmsg(log: Log, path = '/dev/kmsg'): void {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    log.warn(`kernel log unavailable: ${(err as Error).message}`);
    return;
  }
  root.add(new KmsgTransport(fd));
  if (process.stdout.isTTY) kernelEchoesBelow = consoleLoglevel();
}

/**
 * The kernel rate-limits writes to /dev/kmsg (10 lines per 5 s): a busy boot
 * would lose its later lines, `ready` among them. PID 1's are all wanted.
 * Kernel-wide, so only where the kernel is ours.
 */
export function keepEveryKmsgLine(log: Log, path = '/proc/sys/kernel/printk_devkmsg'): void {
  try {
    writeFileSync(path, 'on\n');
  } catch (err) {
    log.debug(`kmsg rate limit kept (${(err as Error).message}; printk.devkmsg= on the command line locks it)`);
  }
}

function consoleLoglevel(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/printk', 'utf8').split(/\s+/)[0]) || 0;
  } catch {
    return 0;
  }
}
