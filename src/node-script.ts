// Running a node script in the node process that is already running, instead
// of executing a second one: a Node start is the costliest thing NodeOS does
// (most of a second on a slow machine). The launcher (src/launch.ts) and
// /usr/bin/env (src/env.ts) both become a program; when that program is this
// very node running a script, with no node options, `execve` would only start
// the same node again to run the same script, with the same pid, argv,
// environment, uid and view. Running it here gives the script all of that,
// one start sooner. Anything else (a binary, a shell script, node with
// options, another node on PATH) is executed as before.
import { accessSync, closeSync, constants, openSync, readSync, realpathSync } from 'node:fs';
import Module from 'node:module';
import { basename, join } from 'node:path';

/** The kernel reads this much of a script for its #! line (BINPRM_BUF_SIZE). */
const SHEBANG_BYTES = 256;

/** Whether whoever calls it may execute the file (x bit, not on a noexec mount). */
function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable COMMAND on PATH (or COMMAND itself when it has a /). */
export function which(command: string, path = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  const candidates = command.includes('/') ? [command] : path.split(':').filter(Boolean).map((dir) => join(dir, command));
  return candidates.find(executable);
}

/** Whether a file is this node (through any links), e.g. /usr/bin/node → /bin/node. */
export function isThisNode(file: string): boolean {
  try {
    return realpathSync(file) === realpathSync(process.execPath);
  } catch {
    return false;
  }
}

/** A script's #! line as the kernel splits it: the interpreter and its one optional argument. */
export function parseShebang(head: Buffer): { interpreter: string; argument?: string } | undefined {
  if (head[0] !== 0x23 || head[1] !== 0x21) return undefined; // "#!"
  const end = head.indexOf(0x0a);
  const line = head.subarray(2, end < 0 ? head.length : end).toString('latin1').trim();
  const match = /^(\S+)(?:[ \t]+(.*))?$/.exec(line);
  if (!match) return undefined;
  return match[2] ? { interpreter: match[1], argument: match[2] } : { interpreter: match[1] };
}

function readHead(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(SHEBANG_BYTES);
    return head.subarray(0, readSync(fd, head, 0, SHEBANG_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * When executing `file` with `argv` would run this node on a script (node
 * itself with a script and no options, or a script whose #! line is this
 * node or `env node` finding this node on PATH), that script's argv for
 * node (`[node, script, …args]`); else undefined. Checked as whoever calls
 * it: a file execve could not execute (no x bit, a noexec mount) or read is
 * left to execve, which fails as it always did.
 */
export function nodeScriptArgv(file: string, argv: string[], path?: string): string[] | undefined {
  if (!executable(file)) return undefined;
  try {
    if (isThisNode(file)) return argv.length > 1 && !argv[1].startsWith('-') ? [process.execPath, ...argv.slice(1)] : undefined;
    const shebang = parseShebang(readHead(file));
    if (!shebang) return undefined;
    const { interpreter, argument } = shebang;
    const direct = argument === undefined && isThisNode(interpreter);
    const viaEnv = basename(interpreter) === 'env' && argument === 'node' && isThisNode(which('node', path) ?? '');
    return direct || viaEnv ? [process.execPath, file, ...argv.slice(1)] : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a script in this process as `node SCRIPT ARGS…` would: argv is `[node, script, …args]`. */
export function runNodeScript(argv: string[]): void {
  process.argv = argv;
  (Module as unknown as { runMain(main?: string): void }).runMain(argv[1]);
}
