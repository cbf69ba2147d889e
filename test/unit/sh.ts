// /bin/sh (dist/sh.js, @yarnpkg/shell) as npm and child_process call it.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { SH } from '../../build/paths';

const sh = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [SH, ...args], { encoding: 'utf8', input, cwd: '/' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

t.test('sh -c COMMAND [$0 [$1 …]], as npm runs scripts', async (t) => {
  t.match(sh(['-c', 'echo one && echo two']), { status: 0, stdout: 'one\ntwo\n' });
  t.match(sh(['-c', 'echo $0 $1 $2', 'name', 'a', 'b c']), { status: 0, stdout: 'name a b c\n' }, 'positional parameters');
  t.match(sh(['-c', 'echo only', 'name', 'extra']), { stdout: 'only\n' }, 'unused arguments are not appended (as sh, unlike yarn)');
  t.match(sh(['-c', `${JSON.stringify(process.execPath)} -e "process.exit(7)" || echo failed with $?`]), { status: 0, stdout: 'failed with 7\n' }, 'programs from PATH, $?');
  t.match(sh(['-c', 'exit 3']), { status: 3 });
  t.match(sh(['-c', 'echo $HOME | cat']), { stdout: `${process.env.HOME}\n` }, 'pipes and the environment');
  t.match(sh(['-c', 'cd /tmp && pwd']), { stdout: '/tmp\n' });
  t.match(sh(['-e', '-c', 'echo flags ignored']), { status: 0, stdout: 'flags ignored\n' });
  t.match(sh(['-c']), { status: 2, stderr: 'sh: -c: option requires an argument\n' });
});

t.test('sh FILE, and a script on stdin', async (t) => {
  const dir = t.testdir({});
  writeFileSync(`${dir}/script.sh`, '#!/bin/sh\necho from $0 with $1 > /dev/null\necho "file $1"\nexit 4\n');
  t.match(sh([`${dir}/script.sh`, 'arg']), { status: 4, stdout: 'file arg\n' });
  t.match(sh([], 'echo from stdin; echo err >&2'), { status: 0, stdout: 'from stdin\n', stderr: 'err\n' });
});

t.test('a line break ends a command, as in sh', async (t) => {
  const dir = t.testdir({});
  writeFileSync(`${dir}/lines.sh`, '#!/bin/sh\n# a comment\necho a\n\necho b &&\n  echo c\necho d \\\n  e; echo f\n');
  t.match(sh([`${dir}/lines.sh`]), { status: 0, stdout: 'a\nb\nc\nd e\nf\n' });
  t.match(sh(['-c', 'echo x\necho y']), { stdout: 'x\ny\n' }, 'in -c too');
});
