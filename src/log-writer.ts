// dist/log-writer.js: a user's init.log, written as the user. PID 1 starts
// it through the launcher (the user's uid and view, its own cgroup leaf)
// with the init's stdout and stderr as its stdin, so PID 1 is never in the
// data's path and never writes in a home as root. It appends what comes to
// ~/.nodeos/log/init.log and, when that would pass the cap, moves it to
// init.log.1 (dropping the older one) and starts a new one: a chatty app
// keeps at most two files. It ends when every writer of the pipe is gone.
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS_DIR } from './users';

/** The cap per file, from PID 1 (nodeos.user_log_max). */
export const LOG_MAX_ENV = 'NODEOS_LOG_MAX';

/** Appends to a log file, rotating it by size: FILE and FILE.1 at most. */
export class RotatingLog {
  private fd = -1;
  private size = 0;

  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
  ) {
    this.open();
  }

  private open(): void {
    // Never through a symlink: the user's own, but a link could still point at another of theirs.
    this.fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    this.size = fstatSync(this.fd).size;
  }

  write(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length) {
      if (this.size > 0 && this.size + rest.length > this.maxBytes) this.rotate();
      // A chunk bigger than a whole file is cut where the file is full.
      const take = this.size === 0 ? Math.min(rest.length, this.maxBytes) : rest.length;
      writeSync(this.fd, rest, 0, take);
      this.size += take;
      rest = rest.subarray(take);
    }
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, `${this.path}.1`);
    this.open();
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** ~/.nodeos/log/init.log of the user this runs as. */
export function initLogPath(home: string): string {
  const dir = join(home, SETTINGS_DIR, 'log');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, 'init.log');
}

/**
 * Appends stdin to the log until it ends. A log that cannot be written (a
 * read-only or full partition, a quota) drops the output instead of ending:
 * the init's stdout must not break because its log cannot grow. Said once on
 * stderr (PID 1's log), except for a read-only partition, which PID 1 said.
 */
function writeLog(open: () => RotatingLog, input: NodeJS.ReadableStream): void {
  let log: RotatingLog | undefined;
  const fail = (err: unknown) => {
    log = undefined;
    if ((err as NodeJS.ErrnoException).code !== 'EROFS') process.stderr.write(`init.log: ${(err as Error).message}; output dropped from here\n`);
  };
  try {
    log = open();
  } catch (err) {
    fail(err);
  }
  input.on('data', (chunk: Buffer) => {
    try {
      log?.write(chunk);
    } catch (err) {
      fail(err);
    }
  });
  input.on('end', () => log?.close());
}

// dist/log-writer.js is started with the cap in its environment.
if (process.env[LOG_MAX_ENV]) writeLog(() => new RotatingLog(initLogPath(process.env.HOME ?? process.cwd()), Number(process.env[LOG_MAX_ENV])), process.stdin);
