// A user's login session (dist/session.js, run by the launcher as the user,
// in the user's isolation, on a console or an SSH pseudo-terminal): a Node.js
// REPL with no power control. passwd() sets the user's login password. Ending
// the REPL (.exit, Ctrl-D) ends the session; PID 1 then ends whatever the
// session left running.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import repl from 'node:repl';
import { hashPassword, PASSWD_FILE, readUserPassword, verifyPassword } from './passwd';
import { readLine, type ReadResult } from './terminal-input';
import { SETTINGS_DIR } from './users';

const MIN_PASSWORD = 8;

/** Writes the new hash beside and renames it over: a crash never leaves half a passwd file. */
export async function setPassword(home: string, password: string): Promise<void> {
  const dir = join(home, SETTINGS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, PASSWD_FILE);
  writeFileSync(`${path}.new`, await hashPassword(password), { mode: 0o600 });
  renameSync(`${path}.new`, path);
}

function main(): void {
  const home = process.env.HOME ?? process.cwd();
  const uid = process.getuid!();
  // The global context, as node's own REPL: a context of its own would load all of undici (fetch's classes) before the prompt.
  const server = repl.start({ prompt: `${process.env.USER ?? uid}@${hostname()}> `, ignoreUndefined: true, useGlobal: true });
  // While a password is typed, the REPL's line editor must not see the keys (nor keep them in its history).
  const ask = async (prompt: string): Promise<string | undefined> => {
    const editor = process.stdin.listeners('keypress') as ((...args: unknown[]) => void)[];
    process.stdin.removeAllListeners('keypress');
    try {
      const result: ReadResult = await readLine(process.stdin, process.stdout, prompt, { hidden: true });
      return 'line' in result ? result.line : undefined;
    } finally {
      for (const listener of editor) process.stdin.on('keypress', listener);
    }
  };
  /** Changes the login password: the current one first (when there is one), then the new one twice. */
  const passwd = async (): Promise<string> => {
    const stored = readUserPassword(home, uid);
    if (stored) {
      const current = await ask('Current password: ');
      if (current === undefined || !(await verifyPassword(stored, current))) return 'passwd: wrong password, nothing changed';
    }
    const first = await ask('New password: ');
    if (first === undefined) return 'passwd: cancelled';
    if ([...first].length < MIN_PASSWORD) return `passwd: at least ${MIN_PASSWORD} characters, nothing changed`;
    if ((await ask('Again: ')) !== first) return 'passwd: the two differ, nothing changed';
    await setPassword(home, first);
    return 'passwd: password changed';
  };
  Object.assign(server.context, { passwd });
  server.on('exit', () => process.exit(0));
}

if (require.main === module) main();
