// The wall clock. A Raspberry Pi has no RTC, and TLS fails on a clock in
// 1970: so, as gokrazy does, the last known time is kept on the users
// partition (saved every hour and at shutdown) and restored at boot, only ever
// forward; and SNTP sets it from the servers DHCP or nodeos.ntp= names.
import { dgram } from './builtins';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SETTINGS_DIR } from './users';
import type { Log } from './log';
import { parseSntpReply, SNTP_PORT, sntpRequest } from './net/sntp';
import { writeAtomic } from './atomic-write';
import type { Sys } from './sys';

/**
 * ms since node started, on the monotonic clock: performance.now() without
 * its price (the `performance` global loads perf_hooks, about 1 MB of PID 1's
 * memory for as long as it runs).
 */
export const monotonicMs = (): number => process.uptime() * 1000;

/** On the users partition, beside the users. */
export const SAVED_CLOCK = join('/home', SETTINGS_DIR, 'clock');

export const CLOCK_POLICY = {
  saveEveryMs: 60 * 60_000,
  syncEveryMs: 60 * 60_000,
  retryMs: 60_000,
  timeoutMs: 2000,
  /** Offsets smaller than this are left alone (the kernel's clock drifts less between syncs). */
  stepMinMs: 500,
};

/** One SNTP exchange with HOST[:PORT]: our clock's offset from the server's, ms. */
export function querySntp(server: string, timeoutMs = CLOCK_POLICY.timeoutMs): Promise<number> {
  const [host, port] = server.split(':');
  const request = sntpRequest(Date.now());
  const socket = dgram().createSocket('udp4');
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => (clearTimeout(timer), reject(err)));
    socket.on('message', (reply) => {
      try {
        resolve(parseSntpReply(reply, request, Date.now()).offsetMs);
        clearTimeout(timer);
      } catch {
        // Not the reply we wait for (spoofed, stale or broken): keep waiting until the timeout.
      }
    });
    socket.send(request, Number(port ?? SNTP_PORT), host);
  }).finally(() => socket.close());
}

export class Clock {
  private servers: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private saver: NodeJS.Timeout | undefined;

  private readonly savedPath: string | undefined;
  private readonly setClock: boolean;

  constructor(
    private readonly sys: Sys,
    private readonly log: Log,
    options: {
      /** Where the time is kept across boots; none on an ephemeral system. */
      savedPath?: string;
      /** False where the clock is the host's (a container, a namespace test): never set it. */
      setClock: boolean;
    },
  ) {
    this.savedPath = options.savedPath;
    this.setClock = options.setClock;
  }

  /** Restores the saved time, then saves it every hour. */
  start(): void {
    if (!this.savedPath) return;
    if (this.setClock) this.restore(this.savedPath);
    this.saver = setInterval(() => this.save(), CLOCK_POLICY.saveEveryMs);
  }

  /** Moves the clock forward to the saved time when it is behind it (never back). */
  private restore(savedPath: string): void {
    let saved: number;
    try {
      saved = Number(readFileSync(savedPath, 'utf8').trim());
    } catch {
      return this.log.debug(`no saved time at ${savedPath}`);
    }
    if (!Number.isFinite(saved) || saved <= Date.now()) return this.log.debug('the clock is past the saved time: kept');
    try {
      this.sys.clockSettime(saved);
      this.log.info(`restored to ${new Date(saved).toISOString()} (the last saved time)`);
    } catch (err) {
      this.log.warn(`cannot restore the saved time: ${(err as Error).message}`);
    }
  }

  save(durable = true): void {
    if (!this.savedPath) return;
    try {
      mkdirSync(dirname(this.savedPath), { recursive: true, mode: 0o700 });
      writeAtomic(this.savedPath, `${Date.now()}\n`, 0o644, { durable });
      this.log.debug(`saved the time to ${this.savedPath}`);
    } catch (err) {
      // A read-only users partition was said once, at boot; anything else is news.
      if ((err as NodeJS.ErrnoException).code === 'EROFS') this.log.debug(`cannot save the time: ${(err as Error).message}`);
      else this.log.warn(`cannot save the time: ${(err as Error).message}`);
    }
  }

  /** New SNTP servers: sync now, then every hour. */
  setServers(servers: string[]): void {
    this.servers = servers;
    clearTimeout(this.timer);
    if (!this.setClock) return this.log.debug(`SNTP servers ${servers.join(' ')} left unused: the clock is not ours`);
    if (servers.length) void this.sync();
  }

  /** At shutdown: the sync that follows puts the time on disk, without two fsyncs of its own. */
  stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.saver);
    this.save(false);
  }

  /** Asks the servers in turn; the first good answer sets the clock. */
  private async sync(): Promise<void> {
    const servers = this.servers;
    for (const server of servers) {
      try {
        const offset = await querySntp(server);
        if (servers !== this.servers) return; // replaced meanwhile
        if (Math.abs(offset) >= CLOCK_POLICY.stepMinMs) {
          this.sys.clockSettime(Date.now() + offset);
          this.log.info(`set to ${new Date().toISOString()} by SNTP from ${server} (it was off by ${(offset / 1000).toFixed(3)} s)`);
          this.save();
        } else this.log.debug(`SNTP from ${server}: off by ${offset.toFixed(0)} ms, left alone`);
        this.timer = setTimeout(() => void this.sync(), CLOCK_POLICY.syncEveryMs);
        return;
      } catch (err) {
        this.log.debug(`SNTP from ${server}: ${(err as Error).message}`);
      }
    }
    if (servers !== this.servers) return;
    this.log.warn(`no SNTP answer from ${servers.join(', ')}; trying again in ${CLOCK_POLICY.retryMs / 1000} s`);
    this.timer = setTimeout(() => void this.sync(), CLOCK_POLICY.retryMs);
  }
}
