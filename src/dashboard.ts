// The console dashboard (blessed, loaded only when it opens): every user or
// app with its state, pid, restarts, uptime, CPU and memory from its cgroup
// and health; the network's addresses; the users partition's disk use; the
// last log lines of the selected one. Keys act on the selected one. It fits
// an 80×24 serial console and redraws when the terminal's size changes.
import { readFileSync, statfsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Terminal } from './consoles';
import type { HealthStatus } from './health';
import type { Status } from './supervisor';

export interface DashboardUser extends Status {
  uid: number;
  health?: HealthStatus;
}

export interface DashboardDeps {
  users(): DashboardUser[];
  /** Restart, stop or start one user's init. */
  control(name: string, action: 'restart' | 'stop' | 'start'): void;
  /** Interfaces and their addresses. */
  addresses(): string[];
  /** The last lines of a user's log. */
  logs(name: string, lines: number): string;
  /** The cgroup folder of a user ('' without cgroups). */
  cgroup(name: string): string;
  /** Where the users partition is mounted. */
  home: string;
  version: string;
}

/** How the dashboard was left: to the console (a login for root's REPL), back to where it came from, or its terminal gone. */
export type DashboardEnd = 'console' | 'back' | 'ended';

export const KEYS_HELP = '↑↓ select  r restart  s stop/start  l whole log  c console  q back';
const REFRESH_MS = 2000;

const duration = (ms: number) => {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
};
const mebibytes = (bytes: number) => `${(bytes / (1 << 20)).toFixed(bytes < 10 << 20 ? 1 : 0)}M`;

/** What the cgroup says: CPU time used (µs) and memory in use. */
function cgroupUsage(dir: string): { cpuUs?: number; memory?: number } {
  if (!dir) return {};
  const read = (file: string) => {
    try {
      return readFileSync(`${dir}/${file}`, 'utf8');
    } catch {
      return undefined;
    }
  };
  const cpu = /^usage_usec (\d+)$/m.exec(read('cpu.stat') ?? '')?.[1];
  const memory = read('memory.current');
  return { cpuUs: cpu === undefined ? undefined : Number(cpu), memory: memory === undefined ? undefined : Number(memory) };
}

/** The table's rows: one per user, as text that fits 80 columns. */
export function tableRows(users: readonly DashboardUser[], usage: (name: string) => { cpuPercent?: number; memory?: number }, now: number): string[][] {
  const header = ['NAME', 'STATE', 'PID', 'RESTARTS', 'UP', 'CPU', 'MEM', 'HEALTH'];
  return [
    header,
    ...users.map((u) => {
      const { cpuPercent, memory } = usage(u.name);
      return [
        u.name,
        u.state,
        u.pid === null ? '-' : String(u.pid),
        String(u.restarts),
        u.state === 'running' && u.since ? duration(now - u.since) : '-',
        cpuPercent === undefined ? '-' : `${cpuPercent.toFixed(0)}%`,
        memory === undefined ? '-' : mebibytes(memory),
        u.health ? (u.health.state === 'healthy' ? 'healthy' : u.health.failing ? `${u.health.state} (${u.health.failing})` : u.health.state) : '-',
      ];
    }),
  ];
}

/** One dashboard on a terminal, until it is left. */
export function runDashboard(terminal: Terminal, deps: DashboardDeps, { canGoBack }: { canGoBack: boolean }): Promise<DashboardEnd> {
  // blessed is big and only needed here: loaded when a dashboard opens (shipped beside PID 1, not bundled).
  const blessed = require('blessed') as typeof import('blessed');
  // A serial line has no size (0×0): draw for the 80×24 every terminal manages.
  const output = terminal.output as NodeJS.WriteStream;
  if (!(output.columns > 0 && output.rows > 0)) Object.assign(output, { columns: 80, rows: 24 });
  const screen = blessed.screen({ input: terminal.input, output: terminal.output, terminal: 'xterm', smartCSR: true, warnings: false, title: 'NodeOS' });
  // blessed turns raw mode on and resumes its input only when the stream says it is not raw yet: a REPL that
  // just closed on this terminal may have left it flagged raw, and paused.
  if (terminal.input.isTTY) (terminal.input as NodeJS.ReadStream & { setRawMode(raw: boolean): void }).setRawMode(true);
  terminal.input.resume();
  const header = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: 2, tags: false });
  const table = blessed.listtable({
    parent: screen,
    top: 2,
    left: 0,
    width: '100%',
    height: '40%',
    border: { type: 'line' },
    label: ' users ',
    style: { header: { bold: true }, cell: { selected: { inverse: true } } },
    align: 'left',
    noCellBorders: true,
  });
  const log = blessed.box({ parent: screen, top: '40%+2', left: 0, width: '100%', bottom: 1, border: { type: 'line' }, label: ' log ' });
  blessed.box({ parent: screen, bottom: 0, left: 0, width: '100%', height: 1, content: canGoBack ? KEYS_HELP : KEYS_HELP.replace('  q back', '') });
  let users: DashboardUser[] = [];
  let message = '';
  const previous = new Map<string, { cpuUs: number; at: number }>();

  const selected = () => users[Math.max(0, ((table as unknown as { selected: number }).selected ?? 1) - 1)];
  const usage = (name: string) => {
    const { cpuUs, memory } = cgroupUsage(deps.cgroup(name));
    const now = Date.now();
    const before = previous.get(name);
    if (cpuUs !== undefined) previous.set(name, { cpuUs, at: now });
    const cpuPercent = cpuUs !== undefined && before && now > before.at ? ((cpuUs - before.cpuUs) / 1000 / (now - before.at)) * 100 : undefined;
    return { cpuPercent, memory };
  };
  const render = () => {
    users = deps.users();
    let disk = '';
    try {
      const fs = statfsSync(deps.home);
      const total = fs.blocks * fs.bsize;
      disk = `${deps.home} ${Math.round(((fs.blocks - fs.bfree) / fs.blocks) * 100)}% of ${mebibytes(total)}`;
    } catch {
      disk = `${deps.home}: not mounted`;
    }
    header.setContent(`NodeOS ${deps.version} on ${hostname()}  ${disk}\n${deps.addresses().join('  ') || 'no network'}${message ? `  | ${message}` : ''}`);
    const keep = (table as unknown as { selected: number }).selected ?? 1;
    table.setData(tableRows(users, usage, Date.now()));
    table.select(Math.min(Math.max(keep, 1), users.length));
    const chosen = selected();
    log.setLabel(chosen ? ` log: ${chosen.name} ` : ' log ');
    const lines = Math.max(1, (log.height as number) - 2);
    log.setContent(chosen ? safeLogs(chosen.name, lines) : '');
    screen.render();
  };
  const safeLogs = (name: string, lines: number) => {
    try {
      return deps.logs(name, lines).replace(/\n$/, '');
    } catch (err) {
      return (err as Error).message;
    }
  };
  const act = (action: 'restart' | 'stop' | 'start') => {
    const chosen = selected();
    if (!chosen) return;
    deps.control(chosen.name, action);
    message = `${action}: ${chosen.name}`;
    render();
  };

  return new Promise((resolve) => {
    // Each refresh draws the whole screen, not only what changed: PID 1's log lines and the kernel's reach this
    // console too, and would otherwise stay written over the dashboard.
    const timer = setInterval(() => (screen.realloc(), render()), REFRESH_MS);
    let whole: ReturnType<typeof blessed.box> | undefined;
    /** The keys, read from the terminal's bytes (blessed only draws: its key handling depends on the stream's past). */
    const onData = (data: Buffer) => {
      const key = data.toString('latin1');
      if (whole) {
        if (key === 'q' || key === '\x1b') {
          whole.destroy();
          whole = undefined;
          render();
        } else if (key === '\x1b[A' || key === 'k') (whole.scroll(-1), screen.render());
        else if (key === '\x1b[B' || key === 'j') (whole.scroll(1), screen.render());
        return;
      }
      if (key === '\x1b[A') (table.up(1), render());
      else if (key === '\x1b[B') (table.down(1), render());
      else if (key === 'r') act('restart');
      else if (key === 's') act(selected()?.state === 'running' ? 'stop' : 'start');
      else if (key === 'c') leave('console');
      else if ((key === 'q' || key === '\x1b') && canGoBack) leave('back');
      else if (key === 'l' && selected()) {
        whole = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%', border: { type: 'line' }, label: ` ${selected()!.name}: whole log (↑↓ scroll, q back) `, scrollable: true, alwaysScroll: true, content: safeLogs(selected()!.name, 100_000) });
        whole.setScrollPerc(100);
        screen.render();
      }
    };
    const onEnd = () => leave('ended');
    const leave = (end: DashboardEnd) => {
      clearInterval(timer);
      terminal.input.off('data', onData);
      terminal.input.off('end', onEnd);
      screen.destroy();
      resolve(end);
    };
    terminal.input.on('data', onData);
    terminal.input.once('end', onEnd);
    screen.on('resize', render);
    render();
  });
}
