// One logger for PID 1: "nodeos: step: message" on every console and, once
// /dev is mounted, as one /dev/kmsg record per line ("<prio>nodeos: …") so our
// lines sit in dmesg beside the kernel's, with its timestamps.
//
// Lines go to sinks (the consoles, /dev/kmsg, a file). Until PID 1 is ready
// they are written to the sinks directly; from then on winston carries them
// (each sink one of its transports). winston and its formats are loaded only
// then: their start-up cost is not on the boot path.
import { appendFileSync, chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'winston';
import type { LogLevel } from './config';
import { stdioTerminal, type Terminal } from './consoles';

// syslog priorities: the kernel keeps them and `dmesg` filters by them.
const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

interface Entry {
  level: LogLevel;
  message: string;
  step?: string;
}

/** A destination of log lines. */
interface Sink {
  write(entry: Entry): void;
  close?(): void;
}

const line = (entry: Entry) => `nodeos: ${entry.step ? `${entry.step}: ` : ''}${entry.message}`;

class KmsgSink implements Sink {
  constructor(private readonly fd: number) {}

  write(entry: Entry): void {
    try {
      writeSync(this.fd, `<${PRIORITY[entry.level]}>${line(entry)}\n`);
    } catch {
      // The kernel drops records over its size limit (EINVAL): the console still has them.
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

// Lines the kernel echoes on its consoles itself are not printed twice.
let kernelEchoesBelow = 0;

/** Our stdout until the consoles are open, then each of them (asked each time: a console is reopened after a logout). */
class ConsolesSink implements Sink {
  terminals: () => Pick<Terminal, 'print'>[] = () => [stdioTerminal()];

  write(entry: Entry): void {
    if (PRIORITY[entry.level] >= kernelEchoesBelow) for (const terminal of this.terminals()) terminal.print(`${line(entry)}\n`);
  }
}

const consoles = new ConsolesSink();
const sinks: Sink[] = [consoles];
let level: LogLevel = 'info';
/** Set by useWinston(): from then on every line goes through it. */
let winstonLogger: Logger | undefined;

function emit(entry: Entry): void {
  // Winston filters only in its transports, after its whole stream pipeline: a line below the level stops here
  // (with the reaper's hundred `reaped` lines at debug, one look took 140–172 ms under TCG instead of 28).
  if (LEVELS[entry.level] > LEVELS[level]) return;
  if (winstonLogger) winstonLogger.log(entry);
  else for (const sink of sinks) sink.write(entry);
}

function addSink(sink: Sink): void {
  sinks.push(sink);
  winstonLogger?.add(transportFor(sink));
}

/** A winston transport writing to a sink (winston-transport is loaded with winston, after ready). */
function transportFor(sink: Sink) {
  const Transport = require('winston-transport') as typeof import('winston-transport');
  return new (class extends Transport {
    override log(entry: Entry, done: () => void): void {
      sink.write(entry);
      done();
    }

    override close(): void {
      sink.close?.();
    }
  })();
}

/** Hands the log to winston (after ready: its loading is not on the boot path). */
export function useWinston(): void {
  const winston = require('winston') as typeof import('winston');
  winstonLogger = winston.createLogger({ levels: LEVELS, level, transports: sinks.map(transportFor) });
}

/** PID 1's own log on the users partition: a root-only system folder (a dot-folder, never a user). */
export const SYSTEM_LOG: LogFile = { dir: '/home/.nodeos/log', file: 'nodeos.log', maxBytes: 1 << 20, files: 5 };

export interface LogFile {
  dir: string;
  file: string;
  /** A file is rotated before it would grow past this. */
  maxBytes: number;
  /** How many files are kept: FILE (newest), then FILE1 … the oldest dropped. */
  files: number;
}

/**
 * Appends each line to a file (synchronously: PID 1's lines are few, and none
 * may be lost in a burst, which winston's own file transport does while it
 * rotates), rotating by size under a total cap.
 */
class RotatingFileSink implements Sink {
  private size: number;
  private readonly path: string;

  constructor(private readonly spec: LogFile) {
    this.path = join(spec.dir, spec.file);
    this.size = existsSync(this.path) ? statSync(this.path).size : 0;
  }

  private rotated = (n: number) => join(this.spec.dir, this.spec.file.replace(/(\.log)?$/, `${n}$1`));

  write(entry: Entry): void {
    const text = `${new Date().toISOString()} ${entry.level} ${line(entry)}\n`;
    try {
      if (this.size > 0 && this.size + Buffer.byteLength(text) > this.spec.maxBytes) this.rotate();
      appendFileSync(this.path, text, { mode: 0o600 });
      this.size += Buffer.byteLength(text);
    } catch {
      // A full or read-only partition: the consoles and dmesg still have the line.
    }
  }

  private rotate(): void {
    rmSync(this.rotated(this.spec.files - 1), { force: true });
    for (let n = this.spec.files - 2; n >= 1; n--) if (existsSync(this.rotated(n))) renameSync(this.rotated(n), this.rotated(n + 1));
    renameSync(this.path, this.rotated(1));
    this.size = 0;
  }
}

/** Adds a file on the users partition as a destination, so the log survives reboots. */
export function logToFile(log: Log, spec: LogFile = SYSTEM_LOG): void {
  // Below the users partition's root, never creating it: a container without /home must not get one.
  if (!existsSync(join(spec.dir, '..', '..'))) return log.warn(`log file: no ${join(spec.dir, '..', '..')}`);
  try {
    mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
    chmodSync(spec.dir, 0o700);
    addSink(new RotatingFileSink(spec));
  } catch (err) {
    // A read-only users partition was said once, when it was mounted.
    if ((err as NodeJS.ErrnoException).code === 'EROFS') log.debug(`log file: ${(err as Error).message}`);
    else log.warn(`log file: ${(err as Error).message}`);
  }
}

/** From now on, log lines go to these consoles (every terminal PID 1 serves). */
export function logToConsoles(terminals: () => Pick<Terminal, 'print'>[]): void {
  consoles.terminals = terminals;
}

export interface Log {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** A logger whose lines are prefixed with the boot step or concern they come from. */
export function logger(step: string): Log {
  const at = (level: LogLevel) => (message: string) => emit({ level, message, step });
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

export function setLogLevel(wanted: LogLevel): void {
  level = wanted;
  if (winstonLogger) winstonLogger.level = wanted;
}

/**
 * Adds /dev/kmsg as a destination. When our stdout is the kernel's console, the
 * kernel already prints records under its console_loglevel on its consoles, so
 * the console transport skips those.
 */
export function attachKmsg(log: Log, path = '/dev/kmsg'): void {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    log.warn(`kernel log unavailable: ${(err as Error).message}`);
    return;
  }
  addSink(new KmsgSink(fd));
  if (onKernelConsole()) kernelEchoesBelow = consoleLoglevel();
}

/** Whether our stdout is /dev/console, as the kernel gives it to /init (not process.stdout.isTTY: that makes the stream). */
function onKernelConsole(): boolean {
  try {
    return readlinkSync('/proc/self/fd/1') === '/dev/console';
  } catch {
    return false;
  }
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
