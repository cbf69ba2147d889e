// The supervision state machine on a fake clock.
import t from 'tap';
import { backoffDelay, POLICY, Service, type Run, type ServiceHooks } from '../../src/supervisor';
import { memoryLog } from '../fixtures/fake-sys';
import { fakeClock } from '../fixtures/fake-clock';

/** A world with a clock we move by hand and processes that exit when told. */
function world() {
  const clock = fakeClock();
  let nextPid = 100;
  const runs: { pid: number; exit(code: number | null, signal?: NodeJS.Signals): void }[] = [];
  const signals: string[] = [];
  const hooks: ServiceHooks = {
    launch(): Run {
      let listener: (code: number | null, signal: NodeJS.Signals | null) => void = () => {};
      const pid = nextPid++;
      runs.push({ pid, exit: (code, signal) => listener(code, signal ?? null) });
      return { pid, onExit: (l) => (listener = l) };
    },
    signal: (s) => void signals.push(s),
    now: clock.now,
    after: clock.after,
  };
  return { hooks, runs, signals, advance: clock.advance, timers: clock.timers, clock: clock.now };
}

t.test('backoff: 1 s doubling to 60 s', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n)), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  t.same([1, 2, 3, 4].map((n) => backoffDelay(n, { ...POLICY, firstDelayMs: 100, maxDelayMs: 300 })), [100, 200, 300, 300], 'nodeos.restart_delay=100,300');
});

t.test('a crashing init restarts with growing delays and stops at the cap', async (t) => {
  const w = world();
  const log = memoryLog();
  const service = new Service('alice', w.hooks, log);
  service.start();
  const restartTimes: number[] = [];
  for (let i = 0; i < 10; i++) {
    t.equal(service.state, 'running');
    w.runs.at(-1)!.exit(1);
    if (i < 9) {
      t.equal(service.state, 'backoff');
      const before = w.clock();
      while (service.state === 'backoff') w.advance(100);
      restartTimes.push(w.clock() - before);
    }
  }
  t.same(restartTimes, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  // 10 failures, but spread over 243 s, all within the 5-minute window.
  t.equal(service.state, 'failed');
  t.match(service.status(), { name: 'alice', pid: null, state: 'failed', restarts: 9, lastExit: 'code 1' });
  t.ok(log.lines.some((l) => /alice: failed 10 times in 5 minutes/.test(l)));
  w.advance(10 * 60_000);
  t.equal(w.runs.length, 10, 'no more starts once failed');
});

t.test('a healthy minute resets the backoff; failures outside 5 minutes are forgotten', async (t) => {
  const w = world();
  const service = new Service('bob', w.hooks, memoryLog());
  service.start();
  for (let i = 0; i < 30; i++) {
    w.advance(POLICY.healthyMs); // ran for a minute
    w.runs.at(-1)!.exit(null, 'SIGSEGV');
    t.equal(service.state, 'backoff', `crash ${i + 1}`);
    const before = w.clock();
    while (service.state === 'backoff') w.advance(100);
    t.equal(w.clock() - before, 1000, 'the delay starts again at 1 s');
  }
  t.equal(service.status().lastExit, 'signal SIGSEGV');
});

t.test('exit 0 means finished, not restarted', async (t) => {
  const w = world();
  const service = new Service('carol', w.hooks, memoryLog());
  service.start();
  w.runs[0].exit(0);
  t.equal(service.state, 'finished');
  w.advance(120_000);
  t.equal(w.runs.length, 1);
});

t.test('stop: SIGTERM, then SIGKILL after the grace period; resolves when down', async (t) => {
  const w = world();
  const service = new Service('dave', w.hooks, memoryLog());
  service.start();
  let down = false;
  const stopping = service.stop(5000).then(() => (down = true));
  t.equal(service.state, 'stopping');
  t.same(w.signals, ['SIGTERM']);
  w.advance(4999);
  t.same(w.signals, ['SIGTERM']);
  w.advance(1);
  t.same(w.signals, ['SIGTERM', 'SIGKILL']);
  w.runs[0].exit(null, 'SIGKILL');
  await stopping;
  t.ok(down);
  t.equal(service.state, 'stopped');
  w.advance(120_000);
  t.equal(w.runs.length, 1, 'a stopped service is not restarted');
});

t.test('stop during backoff cancels the restart', async (t) => {
  const w = world();
  const service = new Service('erin', w.hooks, memoryLog());
  service.start();
  w.runs[0].exit(2);
  await service.stop(5000);
  t.equal(service.state, 'stopped');
  w.advance(120_000);
  t.equal(w.runs.length, 1);
  t.same(w.signals, []);
});

t.test('hold (a shutdown began): a pending restart is dropped, a running init is left to stop, and its crash is final', async (t) => {
  const w = world();
  const waiting = new Service('flaky', w.hooks, memoryLog());
  const running = new Service('web', w.hooks, memoryLog());
  waiting.start();
  running.start();
  w.runs[0].exit(1);
  t.equal(waiting.state, 'backoff');
  waiting.hold();
  running.hold();
  t.equal(waiting.state, 'stopped');
  t.equal(running.state, 'running', 'not signalled: stop() decides when');
  t.same(w.signals, []);
  w.runs[1].exit(1); // it crashes while others are being stopped
  t.equal(running.state, 'stopped', 'no backoff');
  w.advance(120_000);
  t.equal(w.runs.length, 2, 'nothing started again');
  await running.stop(5000);
  t.same(w.signals, [], 'stopping what is down sends nothing');
});

t.test('end(): an unhealthy run is killed and restarted through the backoff; not when stopping', async (t) => {
  const w = world();
  const log = memoryLog();
  const service = new Service('app', w.hooks, log);
  service.start();
  service.end('3 failed health checks in a row (ECONNREFUSED)');
  t.same(w.signals, ['SIGKILL']);
  w.runs.at(-1)!.exit(null, 'SIGKILL');
  t.equal(service.state, 'backoff');
  w.advance(1000);
  t.equal(service.state, 'running');
  t.match(service.status(), { restarts: 1, lastExit: 'signal SIGKILL' });
  t.ok(log.lines.includes('warn: app: ending it: 3 failed health checks in a row (ECONNREFUSED)'));
  const stopping = service.stop(1000);
  service.end('late check');
  t.same(w.signals, ['SIGKILL', 'SIGTERM'], 'a run being stopped is not ended again');
  w.runs.at(-1)!.exit(0);
  await stopping;
  t.equal(service.state, 'stopped');
});
