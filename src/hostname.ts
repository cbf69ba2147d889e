// The UTS hostname, from nodeos.hostname= (default "nodeos").
import type { Log } from './log';
import type { Sys } from './sys';

export function setHostname(sys: Sys, hostname: string, log: Log): void {
  try {
    sys.sethostname(hostname);
    log.debug(`hostname ${hostname}`);
  } catch (err) {
    log.warn(`hostname ${hostname}: ${(err as Error).message}`);
  }
}
