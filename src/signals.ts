// The signal map of busybox init, erlinit and gokrazy, so existing tools work:
// Ctrl-Alt-Del (SIGINT, once the kernel is told to send it) and SIGTERM reboot,
// SIGUSR1 halts, SIGUSR2 and SIGPWR power off. In a container SIGTERM and
// SIGINT are `docker stop`, Kubernetes ending a pod and Ctrl-C: power off
// (exit 0), as tini and dumb-init do.
import type { Log } from './log';
import type { PowerAction } from './shutdown';
import { RB, type Sys } from './sys';

export const SIGNAL_ACTIONS: Readonly<Record<string, PowerAction>> = {
  SIGINT: 'reboot',
  SIGTERM: 'reboot',
  SIGUSR1: 'halt',
  SIGUSR2: 'poweroff',
  SIGPWR: 'poweroff',
};

export const CONTAINER_SIGNAL_ACTIONS: Readonly<Record<string, PowerAction>> = { ...SIGNAL_ACTIONS, SIGINT: 'poweroff', SIGTERM: 'poweroff' };

export function handleSignals(onAction: (action: PowerAction, signal: string) => void, actions = SIGNAL_ACTIONS): void {
  for (const [signal, action] of Object.entries(actions)) {
    process.on(signal as NodeJS.Signals, () => onAction(action, signal));
  }
}

/** Ctrl-Alt-Del then reaches us as SIGINT (a clean reboot) instead of an immediate hard reset. */
export function disableCtrlAltDel(sys: Sys, log: Log): void {
  try {
    sys.reboot(RB.CAD_OFF);
  } catch (err) {
    // Inside a PID namespace the kernel answers EINVAL: the host owns Ctrl-Alt-Del.
    log.debug(`ctrl-alt-del: ${(err as Error).message}`);
  }
}
