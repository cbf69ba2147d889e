// /bin/sh for a system without one, so npm's scripts and lifecycle scripts and
// child_process's `shell: true` work: `sh -c COMMAND [NAME [ARG…]]`,
// `sh FILE [ARG…]`, or a script on stdin. @yarnpkg/shell runs it: a portable
// POSIX-like shell written in JavaScript (pipes, && || ;, redirections,
// variables, globs, subshells, and the builtins cd, echo, exit, pwd, sleep,
// true, false, unset); everything else is started from PATH. It is not an
// interactive shell: users have the Node REPL for that.
import { execute } from '@yarnpkg/shell';
import { readFileSync } from 'node:fs';

const USES_ARGUMENTS = /\$\{?[0-9@*#]/;

/**
 * @yarnpkg/shell reads one command line, where a line break is only a space:
 * lines are joined with `;` (after `&&`, `||`, `|`, `;` or `&` with a space;
 * a trailing `\` continues the line), blank lines and `#` comments dropped.
 * A quoted string cannot span lines.
 */
function joinLines(script: string): string {
  let joined = '';
  for (const line of script.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    if (!joined) joined = line;
    else if (joined.endsWith('\\')) joined = `${joined.slice(0, -1)} ${line}`;
    else joined += `${/(&&|\|\||[|;&])$/.test(joined) ? ' ' : '; '}${line}`;
  }
  return joined;
}

async function main(argv: string[]): Promise<number> {
  // -e, -u and friends are accepted and ignored: the shell stops on nothing itself.
  while (argv[0] && /^[-+][eufxv]+$/.test(argv[0])) argv.shift();
  let script: string;
  let args: string[] = []; // $0, $1 …
  if (argv[0] === '-c') {
    if (argv[1] === undefined) throw new Error('-c: option requires an argument');
    script = argv[1];
    args = argv.slice(2);
  } else if (argv.length) {
    script = readFileSync(argv[0], 'utf8');
    args = argv;
  } else script = readFileSync(0, 'utf8');
  // @yarnpkg/shell appends arguments that a script never mentions to its last command; sh does not.
  const line = joinLines(script);
  return execute(line, USES_ARGUMENTS.test(line) ? args : []); // in process.cwd(), with process.env
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    process.stderr.write(`sh: ${err.message}\n`);
    process.exitCode = 2;
  },
);
