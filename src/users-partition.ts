// Finding and mounting the users partition: drivers are loaded as devices
// appear, block devices are probed until one answers to nodeos.users= or
// nodeos.rootwait= seconds pass.
import { setTimeout as sleep } from 'node:timers/promises';
import { listBlockDevices, matchesSpec, type BlockDevice } from './blockdev';
import type { Config } from './config';
import type { Log } from './log';
import type { ModuleLoader } from './modules';
import { MS, type Sys } from './sys';

const POLL_MS = 250;

export async function findUsersPartition(config: Config, loader: ModuleLoader, log: Log): Promise<BlockDevice | undefined> {
  const deadline = Date.now() + config.rootwaitS * 1000;
  for (;;) {
    loader.coldplug();
    const devices = listBlockDevices();
    const found = devices.find((device) => matchesSpec(device, config.users));
    if (found) {
      log.info(`users partition: ${found.path} (${describe(found)})`);
      return found;
    }
    if (Date.now() >= deadline) {
      const seen = devices.length ? devices.map((d) => `${d.path} (${describe(d)})`).join(', ') : 'no block devices';
      log.error(`no users partition ${config.users} after ${config.rootwaitS} s; searched ${seen}`);
      return undefined;
    }
    await sleep(POLL_MS);
  }
}

function describe(device: BlockDevice): string {
  const facts = [device.type ?? 'no known filesystem', device.label && `LABEL=${device.label}`, device.partlabel && `PARTLABEL=${device.partlabel}`];
  return facts.filter(Boolean).join(', ');
}

/**
 * Mounts it nosuid,nodev (setuid files and device nodes in homes are not
 * honoured), its filesystem's module loaded first (ext4 is one on PC
 * kernels; the kernel cannot ask for it: there is no modprobe). If that
 * fails, read-only with a warning: the users' files can still be read and
 * rescued.
 */
export function mountUsersPartition(sys: Sys, loader: ModuleLoader, device: BlockDevice, target: string, config: Config, log: Log): void {
  const fstype = config.usersFsType || device.type || 'ext4';
  loader.loadAlias(`fs-${fstype}`);
  const flags = MS.NOSUID | MS.NODEV | MS.RELATIME;
  try {
    sys.mount(device.path, target, fstype, flags, null);
  } catch (err) {
    log.warn(`mounting ${device.path} read-write failed (${(err as Error).message}); mounting it read-only`);
    sys.mount(device.path, target, fstype, flags | MS.RDONLY, null);
  }
}
