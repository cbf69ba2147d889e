// Who may log in: a name is a top-level folder of the users partition, its
// password the hash in its ~/.nodeos/passwd. Every answer takes a password
// hash's time and says the same "Login incorrect", so nothing tells whether a
// name exists; failures are logged with their source (a console, an SSH peer)
// and slow that source down, and too many lock the user for a while.
import { DECOY, readUserPassword, verifyPassword, type PasswordHash } from './passwd';
import type { LoginGuard } from './login-guard';
import type { Log } from './log';
import { findAccount, type Account, type AccountPolicy } from './users';

export interface Authenticator {
  /** The account a name stands for, when it may be one (for keys, sessions): the same rules as the users' inits. */
  account(name: string): Account | undefined;
  /** The account when the password is right (and the user not locked); undefined otherwise, after the guard's delay. */
  authenticate(name: string, password: string, source: string): Promise<Account | undefined>;
  /** Whether anyone can log in by password at all; every broken passwd file is logged. */
  anyPassword(names: readonly string[]): boolean;
}

export function authenticator(guard: LoginGuard, log: Log, sleep: (ms: number) => Promise<void>, policy: AccountPolicy, homes = '/home'): Authenticator {
  const account = (name: string) => findAccount(name, policy, homes);
  /** The stored hash, or undefined (no file, or a broken one: logged, and then no login by password). */
  const storedHash = (account: Account | undefined): PasswordHash | undefined => {
    if (!account) return undefined;
    try {
      return readUserPassword(account.home, account.uid);
    } catch (err) {
      log.warn(`${account.name} cannot log in by password: ${(err as Error).message}`);
      return undefined;
    }
  };
  return {
    account,
    async authenticate(name, password, source) {
      const account = findAccount(name, policy, homes);
      const who = account?.name ?? '(unknown)'; // typed names are not logged: they may be passwords typed too early
      const verdict = guard.check(who, source);
      if (!verdict.allowed && verdict.reason === 'wait') await sleep(verdict.retryInMs);
      const stored = storedHash(account);
      const right = (await verifyPassword(stored ?? DECOY, password)) && stored !== undefined;
      const locked = guard.check(who, source);
      if (right && locked.allowed) {
        guard.succeeded(who, source);
        log.info(`${who} logged in on ${source}`);
        return account;
      }
      if (!locked.allowed && locked.reason === 'locked') {
        log.warn(`login refused on ${source}: ${who} is locked for ${Math.ceil(locked.retryInMs / 1000)} s more`);
        return undefined;
      }
      const { delayMs, locked: lockedNow } = guard.failed(who, source);
      log.warn(`login failed on ${source} for ${account ? who : 'an unknown name'}`);
      if (lockedNow) log.warn(`${who}: locked after repeated failed logins (last on ${source})`);
      await sleep(delayMs);
      return undefined;
    },
    anyPassword: (names) => names.filter((name) => storedHash(account(name)) !== undefined).length > 0,
  };
}
