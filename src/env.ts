// /usr/bin/env for a system without coreutils, so `#!/usr/bin/env node`
// works: `env [NAME=VALUE]… COMMAND [ARG]…`. When COMMAND is node, the script
// runs right here, in this node process, instead of starting a second one.
import { accessSync, constants } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { execve } from './sys';

/** The first executable COMMAND on PATH (or COMMAND itself when it has a /). */
export function which(command: string, path = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  const candidates = command.includes('/') ? [command] : path.split(':').filter(Boolean).map((dir) => join(dir, command));
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function main(args: string[]): void {
  while (args.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(args[0])) {
    const word = args.shift()!;
    process.env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
  }
  if (args.length === 0) {
    for (const [key, value] of Object.entries(process.env)) process.stdout.write(`${key}=${value}\n`);
    return;
  }
  const [command, ...rest] = args;
  const file = which(command);
  if (!file) {
    process.stderr.write(`env: ${command}: not found\n`);
    process.exitCode = 127;
    return;
  }
  if (file === process.execPath || command === 'node') {
    process.argv = [process.execPath, ...rest];
    (Module as unknown as { runMain(): void }).runMain();
    return;
  }
  execve(file, [command, ...rest], process.env);
}

main(process.argv.slice(2));
