// The dashboard's table: one row per user, fitting 80 columns.
import t from 'tap';
import { KEYS_HELP, tableRows, type DashboardUser } from '../../src/dashboard';

t.test('rows: state, pid, restarts, uptime, CPU, memory, health', async (t) => {
  const now = 1_000_000_000;
  const users: DashboardUser[] = [
    { name: 'app', uid: 1000, pid: 321, state: 'running', restarts: 2, lastExit: 'signal SIGKILL', since: now - 3_725_000, health: { state: 'healthy', failing: 0, last: 'ok' } },
    { name: 'worker', uid: 1001, pid: null, state: 'backoff', restarts: 4, lastExit: 'code 1', since: null, health: { state: 'starting', failing: 1, last: 'ECONNREFUSED' } },
    { name: 'batch', uid: 1002, pid: null, state: 'finished', restarts: 0, lastExit: 'code 0', since: null },
  ];
  const usage = (name: string) => (name === 'app' ? { cpuPercent: 12.4, memory: 52 * 1024 * 1024 } : {});
  const rows = tableRows(users, usage, now);
  t.same(rows, [
    ['NAME', 'STATE', 'PID', 'RESTARTS', 'UP', 'CPU', 'MEM', 'HEALTH'],
    ['app', 'running', '321', '2', '1h02', '12%', '52M', 'healthy'],
    ['worker', 'backoff', '-', '4', '-', '-', '-', 'starting (1)'],
    ['batch', 'finished', '-', '0', '-', '-', '-', '-'],
  ]);
  t.ok(rows.every((row) => row.join('  ').length <= 78), 'a row fits an 80-column console with its border');
  t.ok(KEYS_HELP.length <= 80, 'so does the keys line');
});
