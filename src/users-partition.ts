// Finding and mounting the users partition: drivers are loaded as devices
// appear, block devices are probed until one answers to nodeos.users= or
// nodeos.rootwait= seconds pass.
import { setTimeout as sleep } from 'node:timers/promises';
import { listBlockDevices, matchesSpec, type BlockDevice } from './blockdev';
import type { Config } from './config';
import type { Log } from './log';
import { NETWORK, type ModuleLoader } from './modules';
import { MS, type Sys } from './sys';
import { checkFilesystem } from './fsck';

const POLL_MS = 250;

/** The drivers the devices ask for, but the network's devices and drivers: nothing before ready needs those (the hotplug's first look loads them). */
export const loadBootDrivers = (loader: ModuleLoader) => loader.coldplug({ defer: NETWORK });

/** Looks for the partition as the drivers (`drivers`: those already loading) bring up devices, until found or nodeos.rootwait passes. */
export async function findUsersPartition(config: Config, loader: ModuleLoader, log: Log, drivers: Promise<unknown>): Promise<BlockDevice | undefined> {
  const deadline = Date.now() + config.rootwaitS * 1000;
  for (;;) {
    await drivers;
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
    drivers = loadBootDrivers(loader);
  }
}

function describe(device: BlockDevice): string {
  const facts = [device.type ?? 'no known filesystem', device.label && `LABEL=${device.label}`, device.partlabel && `PARTLABEL=${device.partlabel}`];
  return facts.filter(Boolean).join(', ');
}

/**
 * Checks it (src/fsck.ts), then mounts it nosuid,nodev (setuid files and
 * device nodes in homes are not honoured), its filesystem's module loaded
 * first (ext4 is one on PC kernels; the kernel cannot ask for it: there is no
 * modprobe); ext* with errors=remount-ro, so a disk error stops the writes
 * instead of spreading damage, and with usrquota when it keeps quotas. If read-write fails, read-only with a warning:
 * users still start, their files can be read and rescued.
 */
export async function mountUsersPartition(sys: Sys, loader: ModuleLoader, device: BlockDevice, target: string, config: Config, log: Log): Promise<void> {
  const fstype = config.usersFsType || device.type || 'ext4';
  if (!(await checkFilesystem(device.path, fstype, log))) throw new Error(`${device.path} has errors e2fsck -p cannot fix`);
  await loader.loadAlias(`fs-${fstype}`);
  // The kernel would ask modprobe for the quota format, and there is none.
  const quota = fstype === 'ext4' && device.quota === true;
  if (quota) await loader.loadIfModule('quota_v2');
  const flags = MS.NOSUID | MS.NODEV | MS.RELATIME;
  const data = fstype.startsWith('ext') ? `errors=remount-ro${quota ? ',usrquota' : ''}` : null;
  try {
    sys.mount(device.path, target, fstype, flags, data);
  } catch (err) {
    log.warn(`mounting ${device.path} read-write failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): mounted read-only; users start, and their writes fail with EROFS`);
    sys.mount(device.path, target, fstype, flags | MS.RDONLY, data);
  }
}
