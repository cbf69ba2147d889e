// A Session over a process that hangs before printing anything: started again
// once, the output and the exit are the second process's.
import t from 'tap';
import { spawn } from 'node:child_process';
import { Session } from '../../build/session';

t.test('a process silent past silentMs is killed and started again, once', async (t) => {
  const started: ReturnType<typeof spawn>[] = [];
  const commands = [['sleep', '30'], ['sh', '-c', 'echo up; read line; echo "got $line"']];
  const start = () => {
    const [command, ...args] = commands[started.length];
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(child);
    return child;
  };
  const stderr = process.stderr.write;
  let said = '';
  process.stderr.write = ((chunk: string) => ((said += chunk), true)) as typeof process.stderr.write;
  let session: Session;
  try {
    session = new Session(start(), { start, silentMs: 300, what: 'the test process' });
    await session.expect('up', 10_000);
  } finally {
    process.stderr.write = stderr;
  }
  t.equal(started.length, 2, 'started twice');
  t.match(said, /the test process printed nothing in 300 ms: killed and started again, once/, 'it says so on stderr');
  t.equal(started[0].signalCode, 'SIGKILL', 'the silent one was killed');
  t.equal(session.child, started[1], 'the session is the second process now');
  let outputs = 0;
  session.onOutput(() => outputs++);
  session.send('hello\n');
  await session.expect('got hello', 10_000);
  t.ok(outputs > 0, 'output listeners hear the second process');
  t.same(await session.exited, { code: 0, signal: null }, "the session's exit is the second process's");
});

t.test('a process that prints in time is left alone, even when it is silent later', async (t) => {
  let starts = 0;
  const start = () => (starts++, spawn('sh', ['-c', 'echo at once; sleep 1; echo later'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const session = new Session(start(), { start, silentMs: 300, what: 'the test process' });
  await session.expect('later', 10_000);
  t.equal(starts, 1, 'started once');
  t.same(await session.exited, { code: 0, signal: null });
});

t.test('started again only once: a second silent process is kept', async (t) => {
  const started: ReturnType<typeof spawn>[] = [];
  const start = () => (started.push(spawn('sleep', ['30'], { stdio: ['pipe', 'pipe', 'pipe'] })), started[started.length - 1]);
  const stderr = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let session: Session;
  try {
    session = new Session(start(), { start, silentMs: 200, what: 'the test process' });
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    process.stderr.write = stderr;
  }
  t.equal(started.length, 2, 'started twice, not more');
  session.child.kill('SIGKILL');
  t.same(await session.exited, { code: null, signal: 'SIGKILL' });
});

t.test("an answer the kernel printed into is the answer without the kernel's lines", async (t) => {
  // As on a serial console: a kernel line lands inside the REPL's line, and another one after a bracket the answer holds.
  const answer = '@@R1:"[   1.000000] in the value[   44.068472] Memory cgroup out of memory: Killed process 312\\r\\n and after[   44.1] x[   45.000001] oom\\r\\n":R1@@';
  const child = spawn('sh', ['-c', `read line; printf '${answer}\\n'; sleep 5`], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const session = new Session(child, { start: () => child, silentMs: 60_000, what: 'the test process' });
  t.equal(await session.value('0'), '[   1.000000] in the value and after[   44.1] x');
});
