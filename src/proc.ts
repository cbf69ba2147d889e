// The process table, read from /proc: what the reaper, shutdown and ps() see.
import { closeSync, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

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
  return readdirSync(proc)
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => processInfo(Number(pid), proc) ?? []);
}

/** One process's stat; undefined once it is gone. */
export function processInfo(pid: number, proc = '/proc'): ProcessInfo | undefined {
  try {
    return parseStat(readFileSync(`${proc}/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // it exited while we looked
  }
}

/**
 * This process's children, zombies included, from each of its threads'
 * `children` list: with thousands of processes about, no scan of all of
 * /proc at every SIGCHLD. Kernels without CONFIG_PROC_CHILDREN: the scan.
 */
export function childPids(proc = '/proc'): number[] {
  if (!existsSync(`${proc}/self/task/${process.pid}/children`)) return listProcesses(proc).filter((p) => p.ppid === process.pid).map((p) => p.pid);
  const pids = new Set<number>();
  for (const task of readdirSync(`${proc}/self/task`)) {
    try {
      for (const pid of readFileSync(`${proc}/self/task/${task}/children`, 'utf8').split(' ')) if (pid.trim()) pids.add(Number(pid));
    } catch {
      // A thread that ended while we looked.
    }
  }
  return [...pids];
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

/** How many holders of a busy mount are named. */
const MAX_HOLDERS = 5;

/**
 * Who keeps a mount busy: processes whose cwd, root, program or an open file
 * is under it (the first few), to name them when it cannot be unmounted.
 */
export function mountHolders(target: string, proc = '/proc'): string[] {
  const under = (path: string) => isUnder(path, target);
  const holders: string[] = [];
  for (const { pid, name } of listProcesses(proc)) {
    const links = ['cwd', 'root', 'exe'];
    try {
      links.push(...readdirSync(`${proc}/${pid}/fd`).map((fd) => `fd/${fd}`));
    } catch {
      // Gone, or a kernel thread.
    }
    const held = links.map((link) => readlinkOrEmpty(`${proc}/${pid}/${link}`)).find(under);
    if (held) holders.push(`${name} (${pid}): ${held}`);
    if (holders.length === MAX_HOLDERS) break;
  }
  return holders;
}

/** The path is the mount point or inside it. */
export const isUnder = (path: string, target: string) => path === target || path.startsWith(target.endsWith('/') ? target : `${target}/`);

/**
 * Closes this process's own files under a mount point (a file the REPL left
 * open, a log): only at shutdown, when nothing will use them again and they
 * alone keep a disk from being unmounted. Returns their paths.
 */
export function closeOwnFiles(target: string, proc = '/proc'): string[] {
  const closed: string[] = [];
  for (const fd of readdirSync(`${proc}/self/fd`)) {
    const path = readlinkOrEmpty(`${proc}/self/fd/${fd}`);
    if (!path || !isUnder(path, target)) continue;
    try {
      closeSync(Number(fd));
      closed.push(path);
    } catch {
      // Already gone.
    }
  }
  return closed;
}

function readlinkOrEmpty(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
