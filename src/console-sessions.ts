// What each console offers, each on its own so a crash or a logout on one
// never touches another. In `repl` mode: PID 1's root REPL, reopened when
// closed (its dashboard() opens the dashboard there, q comes back). In
// `dashboard` mode (an appliance): the dashboard, its `c` key a login for
// root only, whose REPL leads back to the dashboard when closed. In `login` mode: a banner and `login:`; root gets PID 1's REPL
// (with power control), any other user a session of their own (session.ts)
// launched like their init (uid/gid, no new privileges, private mount view,
// a cgroup leaf under their limits), the terminal theirs until they log out.
import { chmodSync, chownSync, closeSync, constants, existsSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runDashboard, type DashboardDeps, type DashboardEnd } from './dashboard';
import { hostname } from 'node:os';
import { emptyCgroup } from './cgroups';
import { reopenTerminal, type Terminal } from './consoles';
import type { LaunchSpec } from './launch';
import type { Config } from './config';
import type { Authenticator } from './login';
import type { Log } from './log';
import { ConsoleRepl, type ReplEnd } from './repl';
import type { PowerAction } from './shutdown';
import { readLine } from './terminal-input';
import { spawnLaunched } from './user-services';
import { APP_MARKER, SETTINGS_DIR, type Account } from './users';

export type ConsoleMode = 'login' | 'repl' | 'dashboard';

export interface ConsoleDeps {
  log: Log;
  power: (action: PowerAction) => void;
  /** More globals for root's REPL (users(), net()). */
  globals: Record<string, () => unknown>;
  /** For login mode: who may log in, and how a user's session is launched. */
  login?: { auth: Authenticator; launchSpec(account: Account, leaf: string): LaunchSpec };
  /** What the dashboard shows and does (with a users partition). */
  dashboard?: DashboardDeps;
  /** Lines under the banner (the SSH host key's fingerprint, which the first boot is still making). */
  bannerLines?: () => Promise<string[]>;
}

export const VERSION = process.env.NODEOS_VERSION ?? 'dev';

/**
 * login needs the users partition (the accounts) and real terminals; `auto`
 * also needs someone with a password, or no one could use the console: until
 * then it is root's REPL, as on a machine being set up.
 */
export function consoleMode(config: Pick<Config, 'console'>, terminals: readonly Terminal[], auth: Authenticator | undefined, log: Log, homes = '/home'): ConsoleMode {
  if (config.console === 'repl' || !auth || terminals.length === 0) return 'repl';
  // An appliance (build --app) shows its dashboard; so does any machine asked to.
  if (config.console === 'dashboard' || (config.console === 'auto' && existsSync(join(homes, SETTINGS_DIR, APP_MARKER)))) return 'dashboard';
  if (terminals.some((t) => !t.device)) {
    if (config.console === 'login') log.warn('login needs console devices (here the console is our stdio): root REPL instead');
    return 'repl';
  }
  if (config.console === 'login') return 'login';
  if (auth.anyPassword(readdirSync(homes))) return 'login';
  log.info('no user has a password yet (~/.nodeos/passwd): the consoles are root\'s REPL; nodeos.console=login to insist');
  return 'repl';
}

export class Consoles {
  private readonly repls = new Set<ConsoleRepl>();
  private stopped = false;

  constructor(
    private readonly terminals: Terminal[],
    private readonly mode: ConsoleMode,
    private readonly deps: ConsoleDeps,
  ) {}

  start(): void {
    for (const terminal of this.terminals) {
      this.serve(terminal).catch((err) => this.deps.log.error(`${terminal.name}: ${(err as Error).stack ?? err}`));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const repl of this.repls) repl.stop();
  }

  private async serve(terminal: Terminal): Promise<void> {
    const { log } = this.deps;
    while (!this.stopped) {
      if (this.mode === 'repl') {
        const end = await this.rootRepl(terminal);
        if (end === 'ended') return log.info(`${terminal.name}: input closed; the REPL stays closed`);
        if (end === 'closed') log.info(`${terminal.name}: REPL closed; opening a new one (use .poweroff or .reboot to shut down)`);
        continue;
      }
      if (this.mode === 'dashboard') {
        const end = await this.dashboard(terminal, false);
        if (end === 'ended') return log.info(`${terminal.name}: input closed; no more dashboard here`);
        if (end !== 'console' || this.stopped) continue;
        const account = await this.login(terminal);
        if (account === 'ended') return;
        if (account && account.uid === 0) await this.rootRepl(terminal);
        else if (account) terminal.output.write('Only root has the console on an appliance.\r\n');
        continue;
      }
      const account = await this.login(terminal);
      if (account === 'ended') return log.info(`${terminal.name}: input closed; no more logins here`);
      if (!account || this.stopped) continue;
      if (account.uid === 0) await this.rootRepl(terminal);
      else await this.userSession(account, terminal);
      log.info(`${account.name} logged out of ${terminal.name}`);
    }
  }

  /** Root's REPL; when it asks for the dashboard, the dashboard until q, then the REPL again. */
  private async rootRepl(terminal: Terminal): Promise<ReplEnd> {
    for (;;) {
      const repl = new ConsoleRepl(terminal, this.deps.power, this.deps.log, this.deps.globals, Boolean(this.deps.dashboard));
      this.repls.add(repl);
      let end: ReplEnd;
      try {
        end = await repl.run();
      } finally {
        this.repls.delete(repl);
      }
      if (end !== 'dashboard' || this.stopped) return end;
      const back = await this.dashboard(terminal, true);
      if (back === 'ended') return 'ended';
    }
  }

  private async dashboard(terminal: Terminal, canGoBack: boolean): Promise<DashboardEnd> {
    if (!this.deps.dashboard) return 'back';
    // blessed is loaded only now (runDashboard requires it): never on a machine nobody looks at.
    // Streams of its own, and fresh ones after: the REPL's readline leaves its input paused, blessed keeps
    // its hold (listeners, modes) on what it drew on.
    if (terminal.device) reopenTerminal(terminal);
    this.deps.log.debug(`${terminal.name}: dashboard`);
    const end = await runDashboard(terminal, this.deps.dashboard, { canGoBack });
    this.deps.log.debug(`${terminal.name}: dashboard left (${end})`);
    if (end !== 'ended' && terminal.device) reopenTerminal(terminal);
    return end;
  }

  /** The banner, then a name and a password: the account when they are right. */
  private async login(terminal: Terminal): Promise<Account | undefined | 'ended'> {
    const { input, output, name } = terminal;
    const banner = [`NodeOS ${VERSION} on ${hostname()} (${name})`, ...((await this.deps.bannerLines?.()) ?? [])];
    output.write(`\r\n${banner.join('\r\n')}\r\n\r\n`);
    const user = await readLine(input, output, `${hostname()} login: `);
    if ('ended' in user) return input.readableEnded || input.destroyed ? 'ended' : undefined;
    if ('cancelled' in user || !user.line.trim()) return undefined;
    const password = await readLine(input, output, 'Password: ', { hidden: true });
    if (!('line' in password)) return undefined;
    const account = await this.deps.login!.auth.authenticate(user.line.trim(), password.line, name);
    if (!account) output.write('Login incorrect\r\n');
    return account;
  }

  /**
   * The user's session owns the terminal: PID 1 lets go of its input, the
   * device is the user's (mode 600) until the session ends, then everything
   * the session started is ended and the terminal is root's again.
   */
  private async userSession(account: Account, terminal: Terminal): Promise<void> {
    const device = terminal.device!;
    const spec = this.deps.login!.launchSpec(account, `console-${terminal.name}`);
    terminal.input.destroy();
    chownSync(device, account.uid, account.gid);
    chmodSync(device, 0o600);
    const fd = openSync(device, constants.O_RDWR | constants.O_NOCTTY);
    try {
      const env = { ...spec.env, TERM: /^tty\d+$/.test(terminal.name) ? 'linux' : 'vt220' };
      const child = spawnLaunched({ ...spec, env, stdio: 'terminal' }, [fd, fd, fd]);
      await new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.on('error', (err) => {
          this.deps.log.error(`${account.name} on ${terminal.name}: ${err.message}`);
          resolve();
        });
      });
    } finally {
      closeSync(fd);
      if (spec.cgroup) emptyCgroup(spec.cgroup, this.deps.log);
      chownSync(device, 0, 0);
      chmodSync(device, 0o600);
      reopenTerminal(terminal);
    }
  }
}

