// The SSH server (the `ssh2` package), run by PID 1 once there is a users
// partition. Public-key login against each user's ~/.ssh/authorized_keys
// (passwords only with nodeos.ssh_password=1). What a client runs, it runs as
// that user, launched like their init (uid/gid, no new privileges, private
// mount view, a cgroup leaf under their limits): the REPL (on a
// pseudo-terminal when asked), a command through /bin/sh, or SFTP
// (sftp-server.js). Ending the channel ends what it started. Unauthenticated
// connections are few and short-lived, so a flood cannot starve PID 1.
// ssh2 (most of PID 1's code, and node:crypto) loads at the first connection:
// until someone uses SSH, PID 1 only listens, with the host key read
// (host-key.ts: made apart at the first boot).
import type { StdioOptions } from 'node:child_process';
import { closeSync, write } from 'node:fs';
import { join } from 'node:path';
import type { Server as NetServer, Socket } from 'node:net';
import { net, tty } from '../builtins';
import type { Server, Connection, ServerChannel, AuthContext, Session } from 'ssh2';
import { emptyCgroup } from '../cgroups';
import type { LaunchSpec } from '../launch';
import type { Authenticator } from '../login';
import type { Log } from '../log';
import type { Sys } from '../sys';
import { spawnLaunched, type Program } from '../user-services';
import { readOwnFile, type Account } from '../users';
import { findKey, parseAuthorizedKeys } from './authorized-keys';
import { checkHostKey, HOST_KEY_FILE, readHostKey, type HostKey } from './host-key';

/** Connections still logging in, at most (OpenSSH's MaxStartups), and how long they may take. */
const MAX_UNAUTHENTICATED = 10;
const LOGIN_GRACE_MS = 30_000;

export interface SshOptions {
  port: number;
  /** The address to listen on: every interface by default. */
  host?: string;
  passwordAuth: boolean;
  /** Where the host key is kept (root-only). */
  keyDir: string;
}

export interface SshDeps {
  log: Log;
  sys: Pick<Sys, 'openpty' | 'setWindowSize'>;
  auth: Authenticator;
  /** How to launch a program as the user (its own cgroup leaf under the user's). */
  launchSpec(account: Account, leaf: string, program: Program): LaunchSpec;
  /** The user's REPL, and the SFTP server. */
  programs: { session: Program; sftp: Program };
  /** Makes a new host key in a folder (PID 1: makeHostKeyApart). */
  makeHostKey(dir: string): Promise<void>;
}

/** The keys a user allows, from ~/.ssh/authorized_keys: theirs (or root's), not writable by others; problems logged. */
function authorizedKeys(account: Account, log: Log) {
  const path = join(account.home, '.ssh', 'authorized_keys');
  try {
    const { keys, problems } = parseAuthorizedKeys(readOwnFile(path, account.uid, 0o022, { rootMayOwn: true }) ?? '');
    for (const problem of problems) log.warn(`${account.name}: ${path}: ${problem}`);
    return keys;
  } catch (err) {
    log.warn(`${account.name} cannot log in by key: ${(err as Error).message}`);
    return [];
  }
}

/** Writes all of data to a non-blocking fd (a pty's master side), waiting out EAGAIN. */
function writeAll(fd: number, data: Buffer, done: () => void = () => {}): void {
  write(fd, data, (err, written) => {
    if (err?.code === 'EAGAIN') return void setTimeout(() => writeAll(fd, data, done), 10);
    if (err) return done(); // the session is gone
    if (written < data.length) return writeAll(fd, data.subarray(written), done);
    done();
  });
}

/** ssh2, loaded when first needed. */
const ssh2 = () => require('ssh2') as typeof import('ssh2');

export class SshServer {
  private listener: NetServer | undefined;
  private hostKey: HostKey | undefined;
  /** ssh2's server, made at the first connection (null: ssh2 refused the host key). */
  private ssh: Server | null | undefined;
  private readonly clients = new Set<Connection>();
  /** "ip:port" of each connection not logged in yet → its deadline's timer. */
  private readonly loggingIn = new Map<string, NodeJS.Timeout>();
  private lastRefusalLog = 0;
  private sessions = 0;
  private starting: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly options: SshOptions,
    private readonly deps: SshDeps,
  ) {}

  /** Reads (or makes) the host key, then listens. */
  start(): Promise<void> {
    return (this.starting = this.listen());
  }

  /** The host key's fingerprint, once read or made (none: SSH did not start). */
  async fingerprint(): Promise<string | undefined> {
    await this.starting?.catch(() => {});
    return this.hostKey?.fingerprint;
  }

  private async listen(): Promise<void> {
    const { log } = this.deps;
    const { keyDir } = this.options;
    const found = readHostKey(keyDir);
    let key = found.key;
    if (!key) {
      await this.deps.makeHostKey(keyDir);
      const made = readHostKey(keyDir);
      if (!made.key) throw new Error(`the host key just made is unreadable (${made.replaced})`);
      key = made.key;
    }
    // Said once the new key exists: when making it fails, "not started" says why instead.
    if (found.replaced) log.warn(`the host key was unreadable (${found.replaced}): kept as ${HOST_KEY_FILE}.bad, a new one made; clients will see a new fingerprint`);
    this.hostKey = key;
    log.info(`${found.key ? 'host key' : 'made a host key'}: ${key.fingerprint} (ED25519)`);
    if (this.stopping) return;
    // Our own listener hands sockets to ssh2, so that one that never even says hello is counted and timed too.
    this.listener = net().createServer((socket) => this.admit(socket));
    this.listener.on('error', (err: Error) => log.error(`port ${this.options.port}: ${err.message}`));
    this.listener.listen(this.options.port, this.options.host ?? '0.0.0.0', () => log.info(`listening on port ${this.port}`));
  }

  /** The port listened on (the one asked for, or the one given for 0). */
  get port(): number | undefined {
    const address = this.listener?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const client of this.clients) client.end();
    await new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
  }

  /** At most MAX_UNAUTHENTICATED connections logging in at once, each for LOGIN_GRACE_MS at most. */
  private admit(socket: Socket): void {
    const { log } = this.deps;
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    const ssh = this.server();
    if (!ssh) return void socket.destroy();
    if (this.loggingIn.size >= MAX_UNAUTHENTICATED) {
      if (Date.now() - this.lastRefusalLog > 10_000) {
        this.lastRefusalLog = Date.now();
        log.warn(`${socket.remoteAddress}: refused, ${MAX_UNAUTHENTICATED} connections are already logging in`);
      }
      return void socket.destroy();
    }
    const timer = setTimeout(() => {
      log.warn(`${socket.remoteAddress}: did not log in within ${LOGIN_GRACE_MS / 1000} s`);
      socket.destroy();
    }, LOGIN_GRACE_MS);
    this.loggingIn.set(key, timer);
    socket.on('close', () => this.loggedIn(key));
    ssh.injectSocket(socket);
  }

  /** ssh2's server, made at the first connection; none (said once) if ssh2 refuses the host key. */
  private server(): Server | undefined {
    if (this.ssh === undefined) {
      try {
        this.checkHostKey();
        this.ssh = new (ssh2().Server)({ hostKeys: [this.hostKey!.private], ident: 'NodeOS' }, (client, info) => this.accept(client, info.ip, `${info.ip}:${info.port}`));
      } catch (err) {
        this.ssh = null;
        this.deps.log.error(`ssh2 refused the host key (${(err as Error).message}): no SSH logins until it is replaced`);
      }
    }
    return this.ssh ?? undefined;
  }

  /** The pair is checked when node:crypto comes with ssh2: a key whose halves disagree is replaced, as an unreadable one is. */
  private checkHostKey(): void {
    const checked = checkHostKey(this.options.keyDir, this.hostKey!);
    if (!checked.replaced) return;
    this.hostKey = checked.key;
    this.deps.log.warn(`the host key was unusable (${checked.replaced}): kept as ${HOST_KEY_FILE}.bad, a new one made; clients will see a new fingerprint: ${checked.key.fingerprint} (ED25519)`);
  }

  private loggedIn(key: string): void {
    clearTimeout(this.loggingIn.get(key));
    this.loggingIn.delete(key);
  }

  private accept(client: Connection, ip: string, key: string): void {
    const { log } = this.deps;
    this.clients.add(client);
    let account: Account | undefined;
    let noPty = false;
    const tried = new Set<string>();
    client.on('authentication', (ctx) => {
      void this.authenticate(ctx, ip, tried).then((result) => {
        if (!result) return ctx.reject(this.options.passwordAuth ? ['publickey', 'password'] : ['publickey']);
        // A key offered without a signature is only a question ("would this key do?"): not logged in yet.
        if (ctx.method !== 'publickey' || ctx.signature) [account, noPty] = [result.account, result.noPty];
        ctx.accept();
      });
    });
    client.on('ready', () => {
      this.loggedIn(key);
      log.info(`${account!.name} logged in from ${ip} (${[...tried].pop()})`);
      client.on('session', (acceptSession) => this.session(acceptSession(), account!, noPty, ip));
    });
    client.on('error', (err: Error) => log.debug(`${ip}: ${err.message}`));
    client.on('close', () => {
      this.clients.delete(client);
      if (!account) {
        if (tried.size) log.warn(`${ip}: closed without logging in (tried ${[...tried].join(', ')})`);
      }
    });
  }

  /** The account and its key's restrictions when ctx proves who it is; nothing secret is logged. */
  private async authenticate(ctx: AuthContext, ip: string, tried: Set<string>): Promise<{ account: Account; noPty: boolean } | undefined> {
    const account = this.deps.auth.account(ctx.username);
    const who = account ? ctx.username : 'an unknown name';
    if (ctx.method === 'publickey') {
      tried.add(`publickey for ${who}`);
      const key = account && findKey(authorizedKeys(account, this.deps.log), ctx.key.algo, ctx.key.data);
      if (!key) return undefined;
      if (!ctx.signature) return { account: account!, noPty: key.noPty }; // "would this key do?": yes
      const parsed = ssh2().utils.parseKey(ctx.key.data);
      const publicKey = Array.isArray(parsed) ? parsed[0] : parsed;
      if (publicKey instanceof Error || !publicKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) {
        this.deps.log.warn(`${ip}: a bad signature for ${who}'s key`);
        return undefined;
      }
      return { account: account!, noPty: key.noPty };
    }
    if (ctx.method === 'password' && this.options.passwordAuth) {
      tried.add(`password for ${who}`);
      const found = await this.deps.auth.authenticate(ctx.username, ctx.password, `ssh ${ip}`);
      return found && { account: found, noPty: false };
    }
    if (ctx.method !== 'none') tried.add(`${ctx.method} for ${who}`);
    return undefined;
  }

  /** One channel: a shell (the REPL), a command, or SFTP, each a process of the user's. */
  private session(session: Session, account: Account, noPty: boolean, ip: string): void {
    let pty: { rows: number; cols: number; term: string } | undefined;
    let master: number | undefined;
    session.on('pty', (accept: () => void, reject: () => void, info: { rows: number; cols: number; term: string }) => {
      if (noPty) return reject();
      pty = info;
      accept();
    });
    session.on('window-change', (accept: (() => void) | undefined, _reject: unknown, info: { rows: number; cols: number }) => {
      if (master !== undefined) this.deps.sys.setWindowSize(master, info.rows, info.cols);
      accept?.();
    });
    session.on('env', (_accept: unknown, reject?: () => void) => reject?.()); // the user's environment is the system's to set
    const { session: repl, sftp } = this.deps.programs;
    session.on('shell', (accept: () => ServerChannel) => {
      master = this.run(accept(), account, repl, pty, ip);
    });
    session.on('exec', (accept: () => ServerChannel, _reject: unknown, info: { command: string }) => {
      master = this.run(accept(), account, { init: '/bin/sh', argv: ['/bin/sh', '-c', info.command] }, pty, ip);
    });
    session.on('subsystem', (accept: () => ServerChannel, reject: () => void, info: { name: string }) => {
      if (info.name !== 'sftp') return reject();
      this.run(accept(), account, sftp, undefined, ip);
    });
  }

  /** Runs a program as the user on the channel, on a pseudo-terminal when one was asked for; returns its master side. */
  private run(channel: ServerChannel, account: Account, program: Program, pty: { rows: number; cols: number; term: string } | undefined, ip: string): number | undefined {
    const { log, sys } = this.deps;
    const spec = this.deps.launchSpec(account, `ssh-${++this.sessions}`, program);
    const terminal = pty && sys.openpty();
    if (terminal) sys.setWindowSize(terminal.master, pty!.rows, pty!.cols);
    const env = { ...spec.env, ...(pty && { TERM: pty.term || 'vt220' }) };
    const stdio: StdioOptions = terminal ? [terminal.slave, terminal.slave, terminal.slave] : ['pipe', 'pipe', 'pipe'];
    const child = spawnLaunched({ ...spec, env, stdio: terminal ? 'terminal' : 'pipes' }, stdio);
    // The master side belongs to this stream from here: it closes it (at EIO, once the session's side is closed, or below).
    const output = terminal && new (tty().ReadStream)(terminal.master);
    if (terminal && output) {
      closeSync(terminal.slave);
      output.on('error', () => {});
      output.on('data', (data: Buffer) => channel.write(data));
      channel.on('data', (data: Buffer) => {
        if (!output.destroyed) writeAll(terminal.master, data); // never to a closed (and perhaps reused) fd number
      });
    } else {
      child.stdout!.pipe(channel, { end: false });
      child.stderr!.pipe(channel.stderr, { end: false });
      channel.pipe(child.stdin!);
      child.stdin!.on('error', () => {}); // the program may end before reading all
    }
    channel.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGHUP');
    });
    child.on('error', (err) => log.error(`${account.name} from ${ip}: ${err.message}`));
    child.on('close', (code, signal) => {
      if (spec.cgroup) emptyCgroup(spec.cgroup, log);
      if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
      else channel.exit(code ?? 255);
      channel.end();
      output?.destroy();
    });
    return terminal?.master;
  }
}
