// Booting a manifest in QEMU: `nodeos run` on the terminal, or a Session on
// pipes that tests and the benchmark drive over the serial console.
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { accelArgs, chooseAccel } from './accel';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readManifest, type Manifest } from './manifest';
import { Session } from './session';
import { MiB } from './disk';
import { archInfo, isHostArch } from './versions';

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
  /** The users image is attached read-only (a write-protected disk). */
  usersReadOnly?: boolean;
  /** More disk images, attached as further virtio disks. */
  disks?: readonly string[];
  /**
   * Boot this whole-disk image (the pc platform's disk.img) as a PC does:
   * firmware, boot loader, kernel, on emulated PC hardware (q35, a USB
   * keyboard, a VGA screen, an e1000e NIC) instead of -kernel.
   */
  pcDisk?: string;
  /**
   * Boot this SD card image (the rpi platform's sdcard.img) as an emulated
   * Raspberry Pi 3 B: the kernel, device tree, initramfs and command line
   * taken from the card's boot partition (QEMU stands in for the Pi's
   * firmware), the card itself in the SD slot.
   */
  sdCard?: string;
  /** For pcDisk: UEFI (OVMF, the default) or legacy BIOS (SeaBIOS). */
  firmware?: Firmware;
  /** For pcDisk: the disk's controller; virtio by default. */
  bus?: DiskBus;
  /** For pcDisk: an i6300esb watchdog whose expiry powers the machine off (QEMU exits), so a test sees it fire. */
  watchdog?: boolean;
  /** A QEMU monitor on this unix socket (screendump, sendkey); the serial console stays on stdio. */
  monitor?: string;
  /**
   * A virtio console (the guest's hvc0) on this unix socket, for a second
   * console (the kernel drives one serial console only, whatever console=
   * says).
   */
  virtioConsole?: string;
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
export const FIRMWARES = ['uefi', 'bios'] as const;
export type Firmware = (typeof FIRMWARES)[number];
export const DISK_BUSES = ['virtio', 'usb', 'sata', 'nvme'] as const;
export type DiskBus = (typeof DISK_BUSES)[number];

/**
 * One NIC, virtio unless a model is named (without -nic/-netdev QEMU would
 * add an e1000, which the VM kernel does not drive).
 */
export function netArgs(mode: NetMode = 'user', forwards: readonly string[] = [], model = 'virtio-net-pci'): string[] {
  if (!NET_MODES.includes(mode)) throw new Error(`--net ${mode}: expected ${NET_MODES.join(', ')}`);
  if (forwards.length && mode !== 'user') throw new Error('--forward needs the user network (--net user)');
  const rules = forwards.map((spec) => {
    const match = /^(\d{1,5}):(\d{1,5})$/.exec(spec);
    if (!match || [match[1], match[2]].some((port) => Number(port) < 1 || Number(port) > 65535)) throw new Error(`--forward ${spec}: expected HOSTPORT:GUESTPORT`);
    return `,hostfwd=tcp:127.0.0.1:${match[1]}-:${match[2]}`;
  });
  if (mode === 'none') return ['-nic', 'none'];
  const netdev = mode === 'user' ? `user,id=n0${rules.join('')}` : 'hubport,id=n0,hubid=0';
  return ['-netdev', netdev, '-device', `${model},netdev=n0`];
}

export const OVMF = '/usr/share/ovmf/OVMF.fd';

/** Raw disk images as virtio block devices (/dev/vda, /dev/vdb … in that order). */
const driveArgs = (files: readonly string[], readOnly: ReadonlySet<string> = new Set()) =>
  files.flatMap((file) => ['-drive', `file=${file},format=raw,if=virtio${readOnly.has(file) ? ',readonly=on' : ''}`]);

export function qemuCommand(manifestPath: string, options: BootOptions = {}): { command: string; args: string[] } {
  const manifest = readManifest(manifestPath);
  const dir = dirname(manifestPath);
  const { qemu, qemuMachine } = archInfo(manifest.arch);
  const kernel = join(dir, manifest.kernel.path);
  if (options.sdCard) return { command: qemu, args: [...piBoot(options.sdCard, options), ...(options.noReboot ? ['-no-reboot'] : [])] };
  const args = [
    ...(options.pcDisk ? [] : qemuMachine),
    ...consoleArgs(options),
    ...['-m', options.memory ?? '1G', '-smp', '2'],
    ...accelArgs(isHostArch(manifest.arch) ? chooseAccel(qemu, kernel) : 'tcg'), // KVM runs only the host's own arch
    ...(options.pcDisk ? pcBoot(options.pcDisk, options) : directBoot(manifest, dir, kernel, options, Boolean(options.users || options.disks?.length))),
    ...(options.noReboot ? ['-no-reboot'] : []),
    ...netArgs(options.net, options.forwards, options.pcDisk ? 'e1000e' : undefined),
    ...driveArgs([...(options.users ? [options.users] : []), ...(options.disks ?? [])], new Set(options.usersReadOnly && options.users ? [options.users] : [])),
  ];
  return { command: qemu, args };
}

/** The board QEMU emulates for the SD card, and its device tree on the card. */
export const PI_MACHINE = { machine: 'raspi3b', dtb: 'bcm2837-rpi-3-b.dtb' } as const;

/**
 * A Raspberry Pi 3 B: 4 cores and 1 GiB, as the board has (QEMU allows no
 * other); its first UART (the PL011, wired to Bluetooth on a real Pi) on
 * nothing, the GPIO mini-UART (ttyS1) on stdio.
 */
function piBoot(card: string, options: BootOptions): string[] {
  if (options.users || options.disks?.length || options.pcDisk) throw new Error('run: an SD card boots as it is, with its own users partition');
  const boot = join(dirname(card), 'qemu-boot');
  mkdirSync(boot, { recursive: true });
  const from = (name: string) => {
    execFileSync('mcopy', ['-o', '-i', `${card}@@${MiB}`, `::/${name}`, join(boot, name)], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    return join(boot, name);
  };
  // --append adds to cmdline.txt's line, as editing the card would; an initramfs given replaces the card's (the benchmark's).
  // QEMU's bcm2835 watchdog resets the board the moment it is started (it does not count down): armed by
  // PID 1 it would end every boot, so it stays off here (reboot(2) still goes through its driver).
  const cmdline = [readFileSync(from('cmdline.txt'), 'utf8').trim(), 'nodeos.watchdog=off', options.append].filter(Boolean).join(' ');
  return [
    ...['-machine', PI_MACHINE.machine, '-m', '1G', '-smp', '4', ...accelArgs('tcg')],
    ...['-display', 'none', '-serial', 'null', '-serial', 'mon:stdio'], // Ctrl-A X quits, as with -nographic
    ...['-kernel', from('vmlinuz'), '-initrd', options.initramfs ?? from('initrd.img'), '-dtb', from(PI_MACHINE.dtb), '-append', cmdline],
    ...['-drive', `file=${card},format=raw,if=sd`],
  ];
}

/** The serial port on stdio (with QEMU's monitor multiplexed, as -nographic does, unless it has a socket); a virtio console on a socket. */
function consoleArgs(options: BootOptions): string[] {
  const virtio = options.virtioConsole
    ? ['-device', 'virtio-serial-pci', '-chardev', `socket,id=vc0,path=${options.virtioConsole},server=on,wait=off`, '-device', 'virtconsole,chardev=vc0']
    : [];
  if (!options.monitor) return ['-nographic', ...virtio];
  return ['-display', 'none', '-serial', 'stdio', '-monitor', `unix:${options.monitor},server=on,wait=off`, ...virtio];
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

/**
 * The firmware boots the disk as a PC would, the command line being the boot
 * loader's. The machine is a q35 PC with an xHCI controller and a USB
 * keyboard (PS/2 is there too), a standard VGA screen, and the disk on the
 * chosen controller.
 */
function pcBoot(disk: string, options: BootOptions): string[] {
  const firmware = options.firmware ?? 'uefi';
  if (!FIRMWARES.includes(firmware)) throw new Error(`--firmware ${firmware}: expected ${FIRMWARES.join(' or ')}`);
  if (firmware === 'uefi' && !existsSync(OVMF)) throw new Error(`run: no UEFI firmware at ${OVMF} (apt-get install ovmf)`);
  if (options.append) throw new Error('run: --append does not reach a kernel booted from disk; edit the boot loaders\' files on its ESP');
  return [
    ...['-machine', 'q35', '-vga', 'std'],
    ...(firmware === 'uefi' ? ['-bios', OVMF] : []), // QEMU's own firmware is SeaBIOS
    ...['-device', 'qemu-xhci,id=xhci', '-device', 'usb-kbd,bus=xhci.0'],
    ...(options.watchdog ? ['-device', 'i6300esb', '-action', 'watchdog=poweroff'] : []),
    ...pcDiskArgs(disk, options.bus ?? 'virtio'),
  ];
}

/** The disk as a virtio disk, a USB stick, a SATA disk on q35's AHCI controller, or an NVMe drive. */
export function pcDiskArgs(file: string, bus: DiskBus): string[] {
  const drive = ['-drive', `file=${file},format=raw,if=none,id=disk0`];
  switch (bus) {
    case 'virtio':
      return [...drive, '-device', 'virtio-blk-pci,drive=disk0'];
    case 'usb':
      return [...drive, '-device', 'usb-storage,bus=xhci.0,drive=disk0'];
    case 'sata':
      return [...drive, '-device', 'ide-hd,bus=ide.0,drive=disk0'];
    case 'nvme':
      return [...drive, '-device', 'nvme,serial=nodeos0,drive=disk0'];
    default:
      throw new Error(`--bus ${String(bus)}: expected ${DISK_BUSES.join(', ')}`);
  }
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

/** Every firmware prints within seconds (OVMF's first bytes came after 2.4 s here, SeaBIOS's at once): silence this long is a QEMU that hung before it. */
const SILENT_MS = 60_000;

/** How long a guest of another arch may take to answer a line typed into its REPL. */
const FOREIGN_ANSWER_MS = 150_000;

/** Boots with the console on pipes, for tests and the benchmark (a guest reboot ends QEMU). */
export function bootGuest(manifestPath: string, options: BootOptions = {}): Session {
  const { command, args } = qemuCommand(manifestPath, { noReboot: true, ...options });
  const start = () => spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const session = new Session(start(), { start, silentMs: SILENT_MS, what: 'QEMU' });
  // Another arch's instructions are translated one by one (no KVM, no shared ISA): an arm64 PID 1, compiled from source, took
  // over 30 s to answer its first line on a loaded fresh CI machine.
  if (!isHostArch(readManifest(manifestPath).arch)) session.answerMs = FOREIGN_ANSWER_MS;
  return session;
}
