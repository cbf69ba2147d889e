// Devices plugged in after boot (a USB stick, a hot-added disk) get their
// drivers as the kernel announces them: the uevent netlink socket udev reads,
// on PID 1's own loop. Each "add" that names a modalias loads what it asks
// for, in the kernel's order; drivers that find more devices announce those
// in turn. A coldplug at start covers what came before we listened, and
// another after a burst the socket could not hold. A new network interface
// is passed on at once, so the network sets it up without waiting for its
// next look.
import type { Log } from './log';
import type { ModuleLoader } from './modules';
import type { Sys } from './sys';

export interface Uevent {
  action: string;
  devpath: string;
  subsystem?: string;
  modalias?: string;
  seqnum?: number;
}

/** A kernel uevent: "ACTION@DEVPATH" then KEY=VALUE fields, NUL-separated. udev's own re-broadcasts (libudev…) are not the kernel's. */
export function parseUevent(message: Buffer): Uevent | undefined {
  const [head, ...fields] = message.toString('utf8').split('\0');
  const at = head.indexOf('@');
  if (at < 0) return undefined;
  const env = new Map(fields.filter(Boolean).map((field) => [field.slice(0, field.indexOf('=')), field.slice(field.indexOf('=') + 1)] as const));
  const seqnum = Number(env.get('SEQNUM'));
  return {
    action: env.get('ACTION') ?? head.slice(0, at),
    devpath: env.get('DEVPATH') ?? head.slice(at + 1),
    ...(env.has('SUBSYSTEM') && { subsystem: env.get('SUBSYSTEM') }),
    ...(env.has('MODALIAS') && { modalias: env.get('MODALIAS') }),
    ...(Number.isFinite(seqnum) && { seqnum }),
  };
}

export class Hotplug {
  private stop: (() => void) | undefined;

  constructor(
    private readonly sys: Pick<Sys, 'ueventListen'>,
    private readonly loader: Pick<ModuleLoader, 'coldplug' | 'loadAlias'>,
    private readonly log: Log,
    /** A network interface appeared (SUBSYSTEM=net). */
    private readonly onNetworkInterface: () => void = () => {},
  ) {}

  /**
   * Listens first, then looks at what is there, so nothing falls between
   * (PID 1 starts it once ready and its consoles are up: the look is not on
   * the way there, and the drivers it loads probe on the thread pool).
   */
  start(): void {
    try {
      this.stop = this.sys.ueventListen((message) => this.received(message));
    } catch (err) {
      this.log.error(`cannot listen for new devices (${(err as Error).message}): devices plugged in later get no drivers`);
      return;
    }
    this.coldplug();
  }

  private coldplug(): void {
    this.loader.coldplug().catch((err) => this.log.error(`looking at every device: ${(err as Error).message}`));
  }

  close(): void {
    this.stop?.();
    this.stop = undefined;
  }

  private received(message: Buffer | null): void {
    try {
      if (message === null) {
        this.log.warn('device events were lost (a burst): looking at every device again');
        this.coldplug();
        return;
      }
      const event = parseUevent(message);
      if (event?.action !== 'add') return;
      if (event.subsystem === 'net') this.onNetworkInterface();
      if (!event.modalias) return;
      const { devpath, modalias } = event;
      // Loads are queued in the order asked (src/modules.ts): the kernel's order.
      this.loader.loadAlias(modalias).then(
        (loaded) => loaded && this.log.info(`${devpath}: driver loaded for ${modalias}`),
        (err) => this.log.error(`device event: ${(err as Error).message}`),
      );
    } catch (err) {
      this.log.error(`device event: ${(err as Error).message}`); // never out of the native callback
    }
  }
}
