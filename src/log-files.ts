// Where the logs that survive a reboot are, on the users partition: PID 1's
// (.nodeos/log/nodeos.log and its rotated files) and each user's init.log.
// The root REPL's logs() and `nodeos logs IMAGE` on the host read the same
// files, oldest first, and show their last lines.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_LOG } from './log';
import { SETTINGS_DIR } from './users';

/** A log's files, oldest first, as paths below the users partition's root. */
export function logFiles(name?: string): string[] {
  if (name === undefined) {
    const dir = `${SETTINGS_DIR}/log`;
    const base = SYSTEM_LOG.file.replace(/\.log$/, '');
    return [...Array.from({ length: SYSTEM_LOG.files - 1 }, (_, i) => `${dir}/${base}${SYSTEM_LOG.files - 1 - i}.log`), `${dir}/${SYSTEM_LOG.file}`];
  }
  if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) throw new Error(`logs: ${JSON.stringify(name)} is not a user`);
  return [`${name}/${SETTINGS_DIR}/log/init.log.1`, `${name}/${SETTINGS_DIR}/log/init.log`];
}

/** The last `lines` lines of what the files hold, in order. */
export function lastLines(texts: readonly string[], lines: number): string {
  const all = texts.join('').split('\n');
  if (all.at(-1) === '') all.pop();
  return all.slice(-lines).map((l) => `${l}\n`).join('');
}

/** On the running system: the last lines of PID 1's log, or a user's. */
export function readLogs(name: string | undefined, lines: number, root = '/home'): string {
  const texts = logFiles(name).map((file) => join(root, file)).filter((path) => existsSync(path)).map((path) => readFileSync(path, 'utf8'));
  if (!texts.length) throw new Error(`logs: nothing logged ${name ? `by ${name}` : 'by PID 1'} yet`);
  return lastLines(texts, lines);
}
