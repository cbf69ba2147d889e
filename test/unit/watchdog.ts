// The watchdog's state machine against a recording fake: armed with the
// wanted timeout (or the driver's own when refused), petted every third of
// it, disarmed by the magic close; absent or off, nothing is opened.
import t from 'tap';
import { Watchdog, type WatchdogSeams } from '../../src/watchdog';
import { fakeSys, memoryLog } from '../fixtures/fake-sys';

function machine({ present = true } = {}) {
  const sys = fakeSys();
  const timers: { ms: number; fn: () => void; stopped: boolean }[] = [];
  const seams: WatchdogSeams = {
    sys,
    exists: () => present,
    open: (path) => (sys.trace.push(`open(${path})`), 3),
    write: (fd, text) => void sys.trace.push(`write(${fd}, ${JSON.stringify(text)})`),
    close: (fd) => void sys.trace.push(`close(${fd})`),
    every: (ms, fn) => {
      const timer = { ms, fn, stopped: false };
      timers.push(timer);
      return () => void (timer.stopped = true);
    },
  };
  return { sys, seams, timers };
}

t.test('armed, petted every third of the timeout, disarmed by the magic close', async (t) => {
  const { sys, seams, timers } = machine();
  const log = memoryLog();
  const watchdog = new Watchdog(seams, log, 60);
  t.equal(watchdog.start(), 'armed');
  t.same(timers.map((x) => x.ms), [20_000]);
  timers[0].fn();
  timers[0].fn();
  watchdog.stop();
  t.same(sys.trace, ['open(/dev/watchdog)', 'ioctl(3, WDIOC_SETTIMEOUT, 60)', 'write(3, "\\u0000")', 'write(3, "\\u0000")', 'write(3, "\\u0000")', 'write(3, "V")', 'close(3)']);
  t.ok(timers[0].stopped, 'no more pets');
  t.equal(watchdog.state, 'disarmed');
  watchdog.stop();
  t.equal(sys.trace.length, 7, 'a second stop does nothing');
  t.match(log.lines, ['info: armed: 60 s without PID 1 resets the machine (petted every 20 s)', 'info: disarmed']);
});

t.test('a timeout the hardware cannot count: the driver keeps its own', async (t) => {
  const { sys, seams, timers } = machine();
  sys.failWhen('ioctl(3, WDIOC_SETTIMEOUT', 'EINVAL');
  const log = memoryLog();
  const watchdog = new Watchdog(seams, log, 60);
  t.equal(watchdog.start(), 'armed');
  t.equal(watchdog.timeoutS, 15);
  t.same(timers.map((x) => x.ms), [5000]);
  t.match(log.lines[0], /60 s refused \(EINVAL\): keeping the driver's 15 s/);
});

t.test('no device, or nodeos.watchdog=off: nothing is opened', async (t) => {
  for (const [present, wanted, state] of [[false, 60, 'unavailable'], [true, 'off', 'off']] as const) {
    const { sys, seams, timers } = machine({ present });
    const watchdog = new Watchdog(seams, memoryLog(), wanted);
    t.equal(watchdog.start(), state);
    watchdog.stop();
    t.same(sys.trace, []);
    t.same(timers, []);
  }
});
