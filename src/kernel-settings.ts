// What PID 1 sets in the kernel at boot so users stay apart and PID 1 stays
// alive: the sysctls that close the usual ways from one uid into another's
// files or into the kernel, and PID 1's own immunity to the OOM killer.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from './log';

export interface Sysctl {
  /** Under /proc/sys. */
  key: string;
  value: string;
  why: string;
}

/** The sysctls every machine gets (the kernel's, not a container's: those are the engine's). */
export const SYSCTLS: readonly Sysctl[] = [
  { key: 'fs/protected_hardlinks', value: '1', why: 'no hard links to files one may not write' },
  { key: 'fs/protected_symlinks', value: '1', why: "no following others' symlinks in sticky folders (/tmp)" },
  { key: 'fs/protected_fifos', value: '2', why: "no opening others' FIFOs in sticky folders" },
  { key: 'fs/protected_regular', value: '2', why: "no opening others' files in sticky folders with O_CREAT" },
  { key: 'kernel/dmesg_restrict', value: '1', why: 'the kernel log is root\'s' },
  { key: 'kernel/kptr_restrict', value: '1', why: 'no kernel addresses for users' },
];

/**
 * Unprivileged user namespaces (a large attack surface: a user becomes "root"
 * of a namespace and reaches kernel code written for root) are off unless
 * nodeos.userns=1. Debian's kernels have a switch for exactly that; elsewhere
 * only the count can be capped, which stops root too; a kernel built without
 * them needs nothing.
 */
export function userNamespaceSysctls(allow: boolean, procSys = '/proc/sys'): Sysctl[] {
  if (allow) return [];
  if (existsSync(join(procSys, 'kernel/unprivileged_userns_clone'))) return [{ key: 'kernel/unprivileged_userns_clone', value: '0', why: 'no user namespaces but root\'s (nodeos.userns=1 allows them)' }];
  if (!existsSync(join(procSys, 'user/max_user_namespaces'))) return []; // a kernel without CONFIG_USER_NS: nothing to close
  return [{ key: 'user/max_user_namespaces', value: '0', why: 'no user namespaces, root\'s included: this kernel cannot tell them apart (nodeos.userns=1 allows them)' }];
}

/** Writes each setting; one that the kernel lacks or refuses is a warning, never a stop. */
export function applySysctls(settings: readonly Sysctl[], log: Log, procSys = '/proc/sys'): void {
  const applied: string[] = [];
  for (const { key, value, why } of settings) {
    try {
      writeFileSync(join(procSys, key), value);
      applied.push(`${key.replace(/\//g, '.')}=${value}`);
      log.debug(`${key.replace(/\//g, '.')}=${value}: ${why}`);
    } catch (err) {
      log.warn(`${key.replace(/\//g, '.')}=${value} not set (${why}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  log.info(`sysctl: ${applied.join(' ')}`);
}

/** PID 1's score: the OOM killer never chooses it (children inherit it: the launcher gives it up before it becomes a user). */
export const OOM_IMMUNE = -1000;
export const OOM_DEFAULT = 0;

/** Sets this process's oom_score_adj; why not, when it cannot (lowering needs CAP_SYS_RESOURCE, which a container may lack). */
export function setOomScoreAdj(score: number, path = '/proc/self/oom_score_adj'): string | undefined {
  try {
    writeFileSync(path, String(score));
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}
