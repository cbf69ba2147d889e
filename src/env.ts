// /usr/bin/env for a system without coreutils, so `#!/usr/bin/env node`
// works: `env [NAME=VALUE]… COMMAND [ARG]…`. When COMMAND is this node with a
// script, the script runs right here, in this node process, instead of
// starting a second one (src/node-script.ts).
import { execve } from './sys';
import { nodeScriptArgv, runNodeScript, which } from './node-script';

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
  const script = nodeScriptArgv(file, [command, ...rest]);
  if (script) runNodeScript(script);
  else execve(file, [command, ...rest], process.env);
}

main(process.argv.slice(2));
