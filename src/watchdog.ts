// The hardware watchdog: when the machine has one (/dev/watchdog: i6300esb
// in QEMU, iTCO_wdt or sp5100_tco on PCs, bcm2835_wdt on a Pi), PID 1 arms
// it and pets it from its own event loop, so a PID 1 that hangs resets the
// machine instead of leaving it dead. An orderly shutdown disarms it with the
// magic close ('V', then close) just before reboot(2), so a shutdown that
// hangs is still caught.
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import type { Log } from './log';
import type { Sys } from './sys';

export const WATCHDOG_DEVICE = '/dev/watchdog';

export type WatchdogState = 'off' | 'unavailable' | 'armed' | 'disarmed';

/** Where the watchdog meets the machine; tests replace it to record the calls. */
export interface WatchdogSeams {
  sys: Pick<Sys, 'watchdogSetTimeout' | 'watchdogGetTimeout'>;
  exists(path: string): boolean;
  open(path: string): number;
  write(fd: number, text: string): void;
  close(fd: number): void;
  /** Calls fn every ms; returns what stops it. */
  every(ms: number, fn: () => void): () => void;
}

export const realWatchdogSeams = (sys: Sys): WatchdogSeams => ({
  sys,
  exists: existsSync,
  open: (path) => openSync(path, 'w'),
  write: (fd, text) => void writeSync(fd, text),
  close: closeSync,
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
});

export class Watchdog {
  state: WatchdogState = 'off';
  /** The timeout the driver runs with (s). */
  timeoutS = 0;
  private fd = -1;
  private stopPetting = () => {};

  /** `wanted`: nodeos.watchdog= (off: never armed). */
  constructor(
    private readonly seams: WatchdogSeams,
    private readonly log: Log,
    private readonly wanted: number | 'off',
    private readonly path = WATCHDOG_DEVICE,
  ) {}

  /** Arms it when there is one and it is wanted; pets it every third of its timeout. */
  start(): WatchdogState {
    if (this.wanted === 'off') return (this.state = 'off');
    if (!this.seams.exists(this.path)) {
      this.log.debug(`no ${this.path}: nothing resets a hung machine`);
      return (this.state = 'unavailable');
    }
    try {
      this.fd = this.seams.open(this.path);
    } catch (err) {
      this.log.warn(`${this.path}: ${(err as Error).message}`);
      return (this.state = 'unavailable');
    }
    try {
      this.timeoutS = this.seams.sys.watchdogSetTimeout(this.fd, this.wanted);
    } catch (err) {
      // Beyond what the hardware can count (a Pi's counts 15 s at most): it keeps its own.
      this.timeoutS = this.seams.sys.watchdogGetTimeout(this.fd);
      this.log.info(`${this.wanted} s refused (${(err as NodeJS.ErrnoException).code}): keeping the driver's ${this.timeoutS} s`);
    }
    const everyMs = Math.max(1000, Math.floor((this.timeoutS * 1000) / 3));
    this.stopPetting = this.seams.every(everyMs, () => this.pet());
    this.pet();
    this.log.info(`armed: ${this.timeoutS} s without PID 1 resets the machine (petted every ${everyMs / 1000} s)`);
    return (this.state = 'armed');
  }

  pet(): void {
    if (this.fd < 0) return;
    try {
      this.seams.write(this.fd, '\0');
    } catch (err) {
      this.log.warn(`pet: ${(err as Error).message}`);
    }
  }

  /** The magic close: the driver stops counting. */
  stop(): void {
    if (this.state !== 'armed') return;
    this.stopPetting();
    try {
      this.seams.write(this.fd, 'V');
      this.seams.close(this.fd);
      this.log.info('disarmed');
    } catch (err) {
      this.log.warn(`disarming: ${(err as Error).message}`);
    }
    this.fd = -1;
    this.state = 'disarmed';
  }
}
