// Guessing passwords, made slow and then stopped: after each failure a
// console (or an SSH peer) waits longer before its next try, and a user with
// too many failures in a row is locked for a while, whatever the source. The
// right password does not unlock a locked user early, and the reply is the
// same as for a wrong one. Pure: the clock is given.

export interface GuardPolicy {
  /** Delay after the first failure from a source, doubling after each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Failures in a row that lock a user, and for how long. */
  lockAfter: number;
  lockMs: number;
}

export const DEFAULT_POLICY: GuardPolicy = { firstDelayMs: 1000, maxDelayMs: 30_000, lockAfter: 5, lockMs: 5 * 60_000 };

/** Sources and users remembered at most; the oldest settled ones are forgotten first. */
const MAX_TRACKED = 1024;

export type Verdict = { allowed: true } | { allowed: false; reason: 'wait' | 'locked'; retryInMs: number };

export class LoginGuard {
  /** source → failures in a row and when it may try again */
  private readonly sources = new Map<string, { failures: number; notBefore: number }>();
  /** user → failures in a row and when its lock ends */
  private readonly users = new Map<string, { failures: number; lockedUntil: number }>();

  constructor(
    private readonly now: () => number,
    private readonly policy = DEFAULT_POLICY,
  ) {}

  /** May this source try this user now? */
  check(user: string, source: string): Verdict {
    const now = this.now();
    const locked = this.users.get(user)?.lockedUntil ?? 0;
    if (locked > now) return { allowed: false, reason: 'locked', retryInMs: locked - now };
    const notBefore = this.sources.get(source)?.notBefore ?? 0;
    if (notBefore > now) return { allowed: false, reason: 'wait', retryInMs: notBefore - now };
    return { allowed: true };
  }

  /** Records a failure; returns whether it has just locked the user. */
  failed(user: string, source: string): { delayMs: number; locked: boolean } {
    const now = this.now();
    const from = this.sources.get(source) ?? { failures: 0, notBefore: 0 };
    from.failures++;
    const delayMs = Math.min(this.policy.firstDelayMs * 2 ** (from.failures - 1), this.policy.maxDelayMs);
    from.notBefore = now + delayMs;
    this.sources.delete(source); // re-inserted last: maps keep insertion order, oldest first
    this.sources.set(source, from);
    forgetOldest(this.sources, MAX_TRACKED);
    const who = this.users.get(user) ?? { failures: 0, lockedUntil: 0 };
    who.failures++;
    const locked = who.failures >= this.policy.lockAfter;
    if (locked) {
      who.failures = 0;
      who.lockedUntil = now + this.policy.lockMs;
    }
    this.users.delete(user);
    this.users.set(user, who);
    forgetOldest(this.users, MAX_TRACKED);
    return { delayMs, locked };
  }

  succeeded(user: string, source: string): void {
    this.sources.delete(source);
    this.users.delete(user);
  }
}

/** Many guessing sources (SSH peers) must not grow memory without end. */
function forgetOldest<K, V>(map: Map<K, V>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
