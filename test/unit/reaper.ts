// The reaper over a made-up process table: a watched child's exit goes to its
// watcher, once; other zombies are reaped quietly; running children are left.
import t from 'tap';
import type { ProcessInfo } from '../../src/proc';
import { Reaper, signalName, type ChildTable } from '../../src/reaper';
import type { WaitResult } from '../../src/sys';
import { fakeSys, memoryLog } from '../fixtures/fake-sys';

t.test("a watched child's exit goes to its watcher; an orphan is reaped with a debug line", async (t) => {
  const table = [
    { pid: 40, ppid: process.pid, state: 'Z', name: 'node', kernelThread: false },
    { pid: 41, ppid: process.pid, state: 'Z', name: 'orphan', kernelThread: false },
    { pid: 42, ppid: process.pid, state: 'S', name: 'running', kernelThread: false },
    { pid: 43, ppid: 7, state: 'Z', name: 'not ours', kernelThread: false },
  ];
  const exits: Record<number, WaitResult> = { 40: { pid: 40, code: null, signal: 9 }, 41: { pid: 41, code: 0, signal: null } };
  const sys = fakeSys();
  // The kernel's answer: a zombie child's exit, once; nothing for a running child; ECHILD for anyone else's.
  sys.waitpid = (pid) => {
    sys.trace.push(`waitpid(${pid})`);
    const child = table.find((p) => p.pid === pid);
    if (child?.ppid !== process.pid) throw Object.assign(new Error('ECHILD'), { code: 'ECHILD' });
    if (child.state !== 'Z') return null;
    table.splice(table.indexOf(child), 1);
    return exits[pid];
  };
  const looked: number[] = [];
  const children: ChildTable = {
    pids: () => table.filter((p) => p.ppid === process.pid).map((p) => p.pid),
    info: (pid) => (looked.push(pid), table.find((p) => p.pid === pid) as ProcessInfo),
  };
  const log = memoryLog();
  const reaper = new Reaper(sys, log, children);
  const heard: WaitResult[] = [];
  reaper.watch(40, (result) => heard.push(result));
  t.same(reaper.reap(), { exits: [exits[40], exits[41]], left: 1 }, 'the running child is left');
  t.same(sys.trace, ['waitpid(40)', 'waitpid(41)', 'waitpid(42)'], 'only our children are asked');
  t.same(heard, [exits[40]], 'the watcher hears its child');
  t.same(looked, [41, 42], 'names are read for the unwatched only');
  t.same(reaper.reap(), { exits: [], left: 1 }, 'nothing more to reap');
  t.same(looked, [41, 42], "a running child's name is read once");
  t.same(sys.trace.slice(3), ['waitpid(42)'], 'the reaped are gone from the table');
  t.equal(signalName(heard[0].signal), 'SIGKILL');
  t.same(log.lines, ['debug: reaped orphan (41): exit code 0'], 'the orphan is only a debug line');
  table.length = 0;
  table.push({ pid: 40, ppid: process.pid, state: 'Z', name: 'node', kernelThread: false });
  reaper.reap();
  t.same(heard.length, 1, 'a watcher hears once (a reused pid is not its child)');
});

t.test('signal names as exit events give them', async (t) => {
  t.equal(signalName(15), 'SIGTERM');
  t.equal(signalName(null), null);
});

t.test("once tracking, Node's own children are left to child_process: their exit events still come", async (t) => {
  const { spawn } = await import('node:child_process');
  const sys = fakeSys();
  sys.waitpid = (pid) => {
    sys.trace.push(`waitpid(${pid})`);
    return null;
  };
  let pids: number[] = [];
  const reaper = new Reaper(sys, memoryLog(), { pids: () => pids, info: () => undefined });
  reaper.trackNodeChildren();
  const child = spawn('sleep', ['0.1']);
  pids = [child.pid!];
  t.same(reaper.reap(), { exits: [], left: 1 }, 'counted as left, not waited for');
  t.same(sys.trace, [], 'never asked the kernel for it');
  t.equal(reaper.owned.size, 1);
  const [code] = await new Promise<[number | null]>((resolve) => child.on('exit', (c) => resolve([c])));
  t.equal(code, 0, "its exit status is Node's");
  t.equal(reaper.owned.size, 0, 'forgotten after its exit');
});
