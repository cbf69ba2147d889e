// PID 1 in a container (Docker, Podman, Kubernetes, runc): what tells it so,
// and what the engine lets it do. The image's own Env carries the marker;
// /proc already mounted at start (a kernel's PID 1 finds it empty) confirms it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Ending, PowerAction } from './shutdown';

/** Set in the OCI image's Env (build/oci.ts). */
export const PLATFORM_ENV = 'NODEOS_PLATFORM';
export const CONTAINER = 'container';

/** What `.reboot` exits with: the status a PID namespace's init gets from reboot(2) (killed by SIGHUP, 128 + 1), so restart policies restart it. */
export const REBOOT_EXIT_CODE = 129;
/** The exit status per action: engines restart a container by policy, so a reboot is a status they restart on. */
export const EXIT_CODES: Readonly<Record<PowerAction, number>> = { poweroff: 0, halt: 0, reboot: REBOOT_EXIT_CODE };

/** A container's shutdown ends in the exit; the mounts are the engine's. */
export const containerEnding = (exit: (code: number) => void): Ending => ({
  ownsMounts: false,
  finish(action, log) {
    log.info(`${action}: exiting with status ${EXIT_CODES[action]}`);
    exit(EXIT_CODES[action]);
  },
});

/** Kubernetes' terminationMessagePath default: why the container ended, shown by `kubectl describe`. */
export const TERMINATION_LOG = '/dev/termination-log';

const CAP_SYS_ADMIN = 21;

export type Detection = { container: boolean; problem?: string };

/** The marker decides; /proc already mounted confirms (else it is a kernel booting an image built for containers). */
export function detectContainer(env: NodeJS.ProcessEnv = process.env, procMounted = existsSync('/proc/self/status')): Detection {
  if (env[PLATFORM_ENV] !== CONTAINER) return { container: false };
  if (!procMounted) return { container: false, problem: `${PLATFORM_ENV}=${CONTAINER} but /proc is not mounted: booting as a kernel's PID 1` };
  return { container: true };
}

/** The effective capabilities, from /proc/self/status's CapEff (a hex mask). */
export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return match ? BigInt(`0x${match[1]}`) : 0n;
}

/** CAP_SYS_ADMIN: mounts and namespaces, what a user's private view of the files needs. */
export const maySysAdmin = (caps = effectiveCapabilities()) => (caps & (1n << BigInt(CAP_SYS_ADMIN))) !== 0n;

/** Leaves the reason where Kubernetes looks for it, when the engine provides the file. */
export function writeTerminationLog(reason: string, path = TERMINATION_LOG): void {
  if (!existsSync(path)) return;
  try {
    writeFileSync(path, `${reason}\n`);
  } catch {
    // Read-only or gone: stderr has it too.
  }
}
