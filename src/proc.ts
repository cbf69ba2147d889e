// The process table, read from /proc: what the reaper, shutdown and ps() see.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** R running, S sleeping, D disk wait, Z zombie, T stopped … */
  state: string;
  name: string;
  /** Kernel threads ignore kill(-1) and never need reaping. */
  kernelThread: boolean;
}

const PF_KTHREAD = 0x00200000;

/** One /proc/PID/stat line. The name is in parentheses and may itself hold spaces and ')'. */
export function parseStat(text: string): ProcessInfo {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`stat: malformed: ${text}`);
  const rest = text.slice(close + 2).split(' ');
  return {
    pid: Number(text.slice(0, open)),
    name: text.slice(open + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    kernelThread: (Number(rest[6]) & PF_KTHREAD) !== 0,
  };
}

export function listProcesses(proc = '/proc'): ProcessInfo[] {
  const list: ProcessInfo[] = [];
  for (const name of readdirSync(proc)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      list.push(parseStat(readFileSync(`${proc}/${name}/stat`, 'utf8')));
    } catch {
      // It exited while we looked.
    }
  }
  return list;
}

/** The command line of a process, or [name] for kernel threads and zombies. */
export function commandLine(info: ProcessInfo, proc = '/proc'): string {
  try {
    const argv = readFileSync(`${proc}/${info.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (argv.length) return argv.join(' ');
  } catch {
    // It exited while we looked.
  }
  return `[${info.name}]`;
}
