// An app's health check (its ~/.nodeos/config.json "health": a URL PID 1
// fetches, or a command run as the user), every intervalS while the app runs.
// `failures` in a row and the app is ended (SIGKILL: it is not answering);
// the supervisor then restarts it through its normal backoff. A run that has
// not yet answered is given startPeriodS to come up (Docker's start period):
// its failures meanwhile are not counted, or a machine slower than the app's
// author's would kill it, again and again, before it ever listens.
import { http } from './builtins';
import type { Log } from './log';

export interface HealthCheck {
  url?: string;
  command?: string[];
  intervalS: number;
  timeoutS: number;
  failures: number;
  /** Failures before a run's first success count only after this long. */
  startPeriodS: number;
}

export type HealthState = 'starting' | 'healthy' | 'unhealthy';

export interface HealthStatus {
  state: HealthState;
  /** Failures in a row. */
  failing: number;
  last: string | null;
}

/** A "health" setting checked: the check with its defaults, or what is wrong with it (`where` names it in messages). */
export function parseHealthCheck(raw: unknown, where: string): { check?: HealthCheck; problems: string[] } {
  if (raw === undefined) return { problems: [] };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problems: [`${where}: must be an object with a url or a command`] };
  const h = raw as Record<string, unknown>;
  const problems: string[] = [];
  const { url, command } = h;
  if ((url === undefined) === (command === undefined)) problems.push(`${where}: give a url or a command`);
  if (url !== undefined && (typeof url !== 'string' || !/^http:\/\/\S+$/.test(url))) problems.push(`${where}.url: ${JSON.stringify(url)} is not an http:// URL`);
  if (command !== undefined && (!Array.isArray(command) || !command.length || !command.every((c) => typeof c === 'string' && c))) problems.push(`${where}.command: must be a list of strings (the program, then its arguments)`);
  const integer = (key: string, fallback: number, max: number, min = 1) => {
    const value = h[key] ?? fallback;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) problems.push(`${where}.${key}: ${JSON.stringify(value)} must be an integer from ${min} to ${max}`);
    return value as number;
  };
  const check: HealthCheck = {
    ...(url !== undefined && { url: url as string }),
    ...(command !== undefined && { command: command as string[] }),
    intervalS: integer('intervalS', 10, 3600),
    timeoutS: integer('timeoutS', 5, 600),
    failures: integer('failures', 3, 100),
    startPeriodS: integer('startPeriodS', 30, 3600, 0),
  };
  const known = new Set(['url', 'command', ...Object.keys(check)]); // the settings just read: one list to keep
  for (const key of Object.keys(h)) if (!known.has(key)) problems.push(`${where}.${key}: unknown`);
  return problems.length ? { problems } : { check, problems };
}

/** A probe answers ok, or why not. */
export type Probe = (timeoutMs: number) => Promise<{ ok: true } | { ok: false; why: string }>;

/** GET url: a 2xx or 3xx answer within the timeout is healthy. */
export const httpProbe =
  (url: string): Probe =>
  (timeoutMs) =>
    new Promise((resolve) => {
      // node:http is for appliances with a health check, not on every boot's path.
      const request = http().get(url, { timeout: timeoutMs }, (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 400 ? { ok: true } : { ok: false, why: `HTTP ${status}` });
      });
      request.on('timeout', () => request.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      request.on('error', (err) => resolve({ ok: false, why: (err as NodeJS.ErrnoException).code ?? err.message }));
    });

/** Checks on an interval while the app runs; `end` is called on `failures` in a row. */
export class HealthMonitor {
  private status: HealthStatus = { state: 'starting', failing: 0, last: null };
  private cancel = () => {};
  private busy = false;
  /** When this run started (its start period counts from here). */
  private since = 0;

  constructor(
    private readonly name: string,
    private readonly check: HealthCheck,
    private readonly probe: Probe,
    private readonly hooks: { running(): boolean; end(why: string): void; every(ms: number, fn: () => void): () => void; now(): number },
    private readonly log: Log,
  ) {}

  start(): void {
    this.since = this.hooks.now();
    this.cancel = this.hooks.every(this.check.intervalS * 1000, () => void this.tick());
  }

  stop(): void {
    this.cancel();
  }

  /** A new run of the app starts with a clean slate. */
  restarted(): void {
    this.status = { state: 'starting', failing: 0, last: null };
    this.since = this.hooks.now();
  }

  current(): HealthStatus {
    return { ...this.status };
  }

  async tick(): Promise<void> {
    if (this.busy || !this.hooks.running()) return;
    this.busy = true;
    try {
      const result = await this.probe(this.check.timeoutS * 1000);
      if (!this.hooks.running()) return;
      if (result.ok) {
        if (this.status.state !== 'healthy') this.log.info(`${this.name}: healthy`);
        this.status = { state: 'healthy', failing: 0, last: 'ok' };
        return;
      }
      if (this.status.state === 'starting' && this.hooks.now() - this.since < this.check.startPeriodS * 1000) {
        this.status = { ...this.status, last: result.why }; // still coming up: not counted
        return;
      }
      const failing = this.status.failing + 1;
      this.status = { state: failing >= this.check.failures ? 'unhealthy' : this.status.state, failing, last: result.why };
      this.log.warn(`${this.name}: health check failed (${result.why}), ${failing} of ${this.check.failures}`);
      if (failing >= this.check.failures) this.hooks.end(`${failing} failed health checks in a row (${result.why})`);
    } finally {
      this.busy = false;
    }
  }
}
