// Supervision as one state machine per user (gokrazy's shape, with backoff):
// the wanted state (up/down) is kept apart from the observed one.
//
//   starting ─▶ running ─exit 0─▶ finished
//                  │ abnormal exit
//                  ▼
//               backoff ─delay─▶ running …      10 failures in 5 min ─▶ failed
//   stop(): running ─▶ stopping ─exit─▶ stopped; backoff ─▶ stopped
//   hold(): backoff ─▶ stopped; running stays, and its exit is final
//   end() (failing health): running ─SIGKILL─▶ backoff …
import type { Log } from './log';

export type State = 'running' | 'backoff' | 'stopping' | 'stopped' | 'finished' | 'failed';

export interface RestartPolicy {
  firstDelayMs: number;
  maxDelayMs: number;
  healthyMs: number;
  failureWindowMs: number;
  maxFailures: number;
}

/** The delays are nodeos.restart_delay=FIRST,MAX (ms). */
export const POLICY: RestartPolicy = {
  firstDelayMs: 1000,
  maxDelayMs: 60_000,
  /** A run this long resets the backoff. */
  healthyMs: 60_000,
  failureWindowMs: 5 * 60_000,
  maxFailures: 10,
};

/** The delay before restart number `consecutive` (1, 2, …): 1 s doubling to 60 s by default. */
export const backoffDelay = (consecutive: number, policy: RestartPolicy = POLICY) => Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (consecutive - 1));

export interface Run {
  pid: number | undefined;
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

/** What a service needs from the world: tests give it fakes with a fake clock. */
export interface ServiceHooks {
  launch(): Run;
  signal(signal: NodeJS.Signals): void;
  now(): number;
  after(ms: number, fn: () => void): () => void;
}

export interface Status {
  name: string;
  pid: number | null;
  state: State;
  restarts: number;
  lastExit: string | null;
  /** When the current run started (ms since the epoch), while it runs. */
  since: number | null;
}

export class Service {
  state: State = 'stopped';
  private wanted: 'up' | 'down' = 'down';
  private run: Run | undefined;
  private startedAt = 0;
  private restarts = 0;
  private consecutive = 0;
  private failures: number[] = [];
  private lastExit: string | null = null;
  private cancelTimer: (() => void) | undefined;
  private stopped: (() => void)[] = [];

  constructor(
    readonly name: string,
    private readonly hooks: ServiceHooks,
    private readonly log: Log,
    private readonly policy: RestartPolicy = POLICY,
  ) {}

  start(): void {
    this.wanted = 'up';
    this.launch();
  }

  /**
   * Nothing starts again (a shutdown began, or stop() is coming): a pending
   * restart is dropped; a run goes on until it exits or stop() ends it.
   */
  hold(): void {
    this.wanted = 'down';
    if (this.state !== 'backoff') return;
    this.cancelTimer?.();
    this.setState('stopped');
    this.log.info(`${this.name}: stopped (was waiting to restart)`);
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once it is down. */
  stop(graceMs: number): Promise<void> {
    this.hold();
    if (this.state !== 'running' && this.state !== 'stopping') return Promise.resolve();
    const done = new Promise<void>((resolve) => this.stopped.push(resolve));
    if (this.state === 'running') {
      this.setState('stopping');
      this.hooks.signal('SIGTERM');
      this.cancelTimer = this.hooks.after(graceMs, () => {
        this.log.warn(`${this.name}: still running ${graceMs} ms after SIGTERM: SIGKILL (nodeos.shutdown_timeout=MS gives more time)`);
        this.hooks.signal('SIGKILL');
      });
    }
    return done;
  }

  /**
   * Ends a run that is up but not working (its health check fails): SIGKILL,
   * since it is not answering; the exit counts as a failure, so the usual
   * backoff restarts it.
   */
  end(why: string): void {
    if (this.state !== 'running' || this.wanted !== 'up') return;
    this.log.warn(`${this.name}: ending it: ${why}`);
    this.hooks.signal('SIGKILL');
  }

  status(): Status {
    return { name: this.name, pid: this.run?.pid ?? null, state: this.state, restarts: this.restarts, lastExit: this.lastExit, since: this.run ? this.startedAt : null };
  }

  private setState(state: State): void {
    this.log.debug(`${this.name}: ${this.state} → ${state}`);
    this.state = state;
  }

  private launch(): void {
    this.cancelTimer = undefined;
    this.startedAt = this.hooks.now();
    const run = this.hooks.launch();
    this.run = run;
    this.setState('running');
    this.log.info(`${this.name}: started (pid ${run.pid ?? '?'})`);
    run.onExit((code, signal) => this.exited(code, signal));
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.run = undefined;
    this.lastExit = signal ? `signal ${signal}` : `code ${code}`;
    if (this.wanted === 'down') {
      this.cancelTimer?.();
      this.setState('stopped');
      this.log.info(`${this.name}: stopped (${this.lastExit})`);
      for (const resolve of this.stopped.splice(0)) resolve();
      return;
    }
    if (code === 0) {
      this.setState('finished');
      this.log.info(`${this.name}: finished`);
      return;
    }
    this.failed();
  }

  private failed(): void {
    const now = this.hooks.now();
    const policy = this.policy;
    if (now - this.startedAt >= policy.healthyMs) this.consecutive = 0;
    this.consecutive++;
    this.failures = [...this.failures.filter((t) => now - t < policy.failureWindowMs), now];
    if (this.failures.length >= policy.maxFailures) {
      this.setState('failed');
      this.log.error(`${this.name}: failed ${this.failures.length} times in ${policy.failureWindowMs / 60_000} minutes (last: ${this.lastExit}); not restarting`);
      return;
    }
    const delay = backoffDelay(this.consecutive, policy);
    this.setState('backoff');
    this.log.warn(`${this.name}: exited with ${this.lastExit}; restarting in ${delay / 1000} s`);
    this.cancelTimer = this.hooks.after(delay, () => {
      this.restarts++;
      this.launch();
    });
  }
}
