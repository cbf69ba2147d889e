// Orphan reaping for PID 1. Every process whose parent dies is re-parented to
// us and stays a zombie until we wait for it. Node's child_process waits for
// its own children by pid, so a blind waitpid(-1) would steal their exit
// status; instead we remember which pids Node spawned and reap only the rest.
// The children the addon spawned (the users' inits and log writers) are among
// the rest: their exits go to whoever watches them.
//
// Nothing spawns through child_process on the path to ready (the boot's
// launches are the addon's), so that module, and the stream and net it
// needs, load just after ready, when PID 1 starts tracking Node's children:
// before the consoles, SSH or a REPL line can spawn one.
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { childProcess } from './builtins';
import type { Log } from './log';
import { childPids, processInfo, type ProcessInfo } from './proc';
import { WNOHANG, type Sys, type WaitResult } from './sys';

/** PID 1's children as the kernel lists them, and one process's name (tests give a made-up table). */
export interface ChildTable {
  pids(): number[];
  info(pid: number): ProcessInfo | undefined;
}

const realChildren: ChildTable = { pids: childPids, info: processInfo };

/** One look: the exits it reaped, and how many children are left (running, or Node's own that libuv has yet to reap). */
export interface Reaped {
  exits: WaitResult[];
  left: number;
}

export class Reaper {
  /** Children that Node's child_process owns and will reap itself. */
  readonly owned = new Set<ChildProcess>();
  private readonly ownedPids = new Set<number>();
  private readonly watched = new Map<number, (result: WaitResult) => void>();
  /** Each child's name, read once when it is first seen: for the reaped line, since a reaped pid has no /proc entry. */
  private readonly names = new Map<number, string>();
  private pending: NodeJS.Immediate | undefined;

  constructor(
    private readonly sys: Sys,
    private readonly log: Log,
    private readonly children: ChildTable = realChildren,
  ) {}

  /** Reaps orphans whenever a child changes state. */
  start(): void {
    // A burst of exits is many signals: one look at our children answers them all.
    process.on('SIGCHLD', () => {
      this.pending ??= setImmediate(() => {
        this.pending = undefined;
        this.reap();
      });
    });
    this.reap();
  }

  /** A child of the addon's spawn: its exit, once reaped, goes to listener (watch it in the tick it was spawned). */
  watch(pid: number, listener: (result: WaitResult) => void): void {
    this.watched.set(pid, listener);
  }

  /**
   * Waits for every zombie child of ours that Node does not own. waitpid with
   * WNOHANG asks the kernel about each child directly (a running one answers
   * nothing), so no child's stat is read twice: with 106 children,
   * reading them all at each SIGCHLD took 32–56 ms under TCG.
   */
  reap(): Reaped {
    const exits: WaitResult[] = [];
    let left = 0;
    for (const pid of this.children.pids()) {
      if (this.ownedPids.has(pid)) {
        left++;
        continue;
      }
      const listener = this.watched.get(pid);
      if (!listener && !this.names.has(pid)) this.names.set(pid, this.children.info(pid)?.name ?? '?');
      try {
        const result = this.sys.waitpid(pid, WNOHANG);
        if (!result) {
          left++;
          continue;
        }
        exits.push(result);
        this.watched.delete(pid);
        if (listener) listener(result);
        else this.log.debug(`reaped ${this.names.get(pid)} (${pid}): ${describeExit(result)}`);
      } catch (err) {
        this.log.warn(`waitpid ${pid}: ${(err as Error).message}`);
      }
      this.names.delete(pid);
    }
    return { exits, left };
  }

  /** From now on, children that Node's child_process spawns are left to it: call once, before anything can spawn one. */
  trackNodeChildren(): void {
    const reaper = this;
    // Every child_process API (spawn, exec, fork …) goes through this undocumented method.
    const proto = childProcess().ChildProcess.prototype as unknown as { spawn(this: ChildProcess, ...args: unknown[]): unknown };
    const spawn = proto.spawn;
    proto.spawn = function (this: ChildProcess, ...args: unknown[]) {
      const result = spawn.apply(this, args);
      const pid = this.pid;
      if (pid !== undefined) {
        reaper.owned.add(this);
        reaper.ownedPids.add(pid);
        this.once('exit', () => {
          reaper.owned.delete(this);
          reaper.ownedPids.delete(pid);
        });
      }
      return result;
    };
  }
}

/** A signal's name from its number, as Node's exit events give it. */
export function signalName(signal: number | null): NodeJS.Signals | null {
  if (signal === null) return null;
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((name) => constants.signals[name] === signal) ?? null;
}

export function describeExit(result: Pick<WaitResult, 'code' | 'signal'>): string {
  return result.signal !== null ? `killed by signal ${result.signal}` : `exit code ${result.code}`;
}
