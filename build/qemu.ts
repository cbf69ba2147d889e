// Booting a manifest in QEMU: `nodeos run` on the terminal, or a Session on
// pipes that tests and the benchmark drive over the serial console.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { accelArgs, chooseAccel } from './accel';
import { existsSync } from 'node:fs';
import { readManifest, type Manifest } from './manifest';
import { Session } from './session';
import { archInfo } from './versions';

export interface BootOptions {
  /** Extra kernel command line words. */
  append?: string;
  /** A guest reboot ends QEMU instead of restarting the guest. */
  noReboot?: boolean;
  memory?: string;
  /** Boot this initramfs instead of the manifest's (the benchmark's floor image). */
  initramfs?: string;
  /** A users partition image, attached as the first virtio disk. */
  users?: string;
  /** More disk images, attached as further virtio disks. */
  disks?: readonly string[];
  /** Boot this whole-disk image (OUT/ARCH/disk.img) through UEFI firmware instead of -kernel. */
  pcDisk?: string;
  /**
   * The NIC: `user` (default) is QEMU's user-mode network (DHCP, DNS at
   * 10.0.2.3, the host's loopback at 10.0.2.2); `isolated` a NIC on an empty
   * hub, where nothing answers; `none` no NIC.
   */
  net?: NetMode;
  /** HOSTPORT:GUESTPORT, TCP, from the host's loopback into the guest (user network only). */
  forwards?: readonly string[];
}

export const NET_MODES = ['user', 'none', 'isolated'] as const;
export type NetMode = (typeof NET_MODES)[number];

/** One virtio NIC (without -nic/-netdev QEMU would add an e1000, which our kernels do not drive). */
export function netArgs(mode: NetMode = 'user', forwards: readonly string[] = []): string[] {
  if (!NET_MODES.includes(mode)) throw new Error(`--net ${mode}: expected ${NET_MODES.join(', ')}`);
  if (forwards.length && mode !== 'user') throw new Error('--forward needs the user network (--net user)');
  const rules = forwards.map((spec) => {
    const match = /^(\d{1,5}):(\d{1,5})$/.exec(spec);
    if (!match || [match[1], match[2]].some((port) => Number(port) < 1 || Number(port) > 65535)) throw new Error(`--forward ${spec}: expected HOSTPORT:GUESTPORT`);
    return `,hostfwd=tcp:127.0.0.1:${match[1]}-:${match[2]}`;
  });
  if (mode === 'none') return ['-nic', 'none'];
  const netdev = mode === 'user' ? `user,id=n0${rules.join('')}` : 'hubport,id=n0,hubid=0';
  return ['-netdev', netdev, '-device', 'virtio-net-pci,netdev=n0'];
}

export const OVMF = '/usr/share/ovmf/OVMF.fd';

/** Raw disk images as virtio block devices (/dev/vda, /dev/vdb … in that order). */
const driveArgs = (files: readonly string[]) => files.flatMap((file) => ['-drive', `file=${file},format=raw,if=virtio`]);

export function qemuCommand(manifestPath: string, options: BootOptions = {}): { command: string; args: string[] } {
  const manifest = readManifest(manifestPath);
  const dir = dirname(manifestPath);
  const qemu = archInfo(manifest.arch).qemu;
  const kernel = join(dir, manifest.kernel.path);
  const args = [
    '-nographic',
    ...['-m', options.memory ?? '1G', '-smp', '2'],
    ...accelArgs(chooseAccel(qemu, kernel)),
    ...(options.pcDisk ? firmwareBoot(options) : directBoot(manifest, dir, kernel, options, Boolean(options.users || options.disks?.length))),
    ...(options.noReboot ? ['-no-reboot'] : []),
    ...netArgs(options.net, options.forwards),
    ...driveArgs([...(options.pcDisk ? [options.pcDisk] : []), ...(options.users ? [options.users] : []), ...(options.disks ?? [])]),
  ];
  return { command: qemu, args };
}

/**
 * QEMU loads the kernel and initramfs itself, with our command line. With no
 * disk attached there is no users partition to wait for (`--append` still
 * overrides: the last word wins).
 */
function directBoot(manifest: Manifest, dir: string, kernel: string, options: BootOptions, disks: boolean): string[] {
  const initramfs = options.initramfs ?? (manifest.initramfs && join(dir, manifest.initramfs.path));
  const cmdline = [manifest.cmdline, disks ? '' : 'nodeos.rootwait=0', options.append].filter(Boolean).join(' ');
  return ['-kernel', kernel, ...(initramfs ? ['-initrd', initramfs] : []), '-append', cmdline];
}

/** UEFI firmware boots the disk as a PC would; the command line is the boot loader's. */
function firmwareBoot(options: BootOptions): string[] {
  if (!existsSync(OVMF)) throw new Error(`run: no UEFI firmware at ${OVMF} (apt-get install ovmf)`);
  if (options.append) throw new Error('run: --append does not reach a kernel booted from disk; edit loader/entries/nodeos.conf on its ESP');
  return ['-bios', OVMF];
}

/** Boots on this terminal; resolves with QEMU's exit code (0 after a power-off). */
export function runInteractive(manifestPath: string, options: BootOptions): Promise<number> {
  const { command, args } = qemuCommand(manifestPath, options);
  return new Promise((resolve, reject) => {
    const qemu = spawn(command, args, { stdio: 'inherit' });
    qemu.on('error', (err) => reject(new Error(`run: cannot start ${command}: ${err.message} (apt-get install qemu-system-x86)`)));
    qemu.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? 15 : 0)));
  });
}

/** Boots with the console on pipes, for tests and the benchmark (a guest reboot ends QEMU). */
export function bootGuest(manifestPath: string, options: BootOptions = {}): Session {
  const { command, args } = qemuCommand(manifestPath, { noReboot: true, ...options });
  return new Session(spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
}
