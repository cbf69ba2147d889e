// What NodeOS is built for, one row each. A machine platform boots a kernel:
// which of the arch's kernels, the driver classes its initramfs carries, its
// consoles, and the artifact written from the built kernel + initramfs. A
// container platform runs on an engine's kernel and is only its artifact. A
// new platform is a new row (and the file that writes its artifact), not
// branches elsewhere.
import { resolve } from 'node:path';
import type { ModuleClass } from './modules';
import type { Compression } from './image';
import { buildOciImage } from './oci';
import { buildPcImage, type PcImageOptions } from './pc-image';
import { buildSdImage } from './sd-image';
import { archInfo, type KernelKind } from './versions';

export type Platform = KernelPlatform | ContainerPlatform;

export interface KernelPlatform {
  kind: 'kernel';
  /** The arches it is built for. */
  arches: readonly string[];
  /** The arch's lean kernel for VMs, or its kernel with every hardware driver as a module. */
  kernel: KernelKind;
  modules: readonly ModuleClass[];
  /** Debian packages whose /lib/firmware files the included drivers may ask for. */
  firmware: readonly string[];
  /** The kernel's consoles, the last one being /dev/console; PID 1 serves all of them. */
  consoles(arch: string): string[];
  /** Where below OUT/ARCH its kernel, initramfs and manifest go ('' for OUT/ARCH itself). */
  dir: string;
  /** The initramfs's compression, chosen per platform by measurement (README, Benchmark). */
  compression: Compression;
  /** Writes the platform's artifact next to the manifest's folder; returns its path. */
  write?(manifestPath: string, options: PcImageOptions): Promise<string>;
}

export interface ContainerPlatform {
  kind: 'container';
  arches: readonly string[];
  /** Where below OUT/ARCH its artifact goes. */
  dir: string;
  /** Writes the artifact into DIR from the system's files; returns its path. */
  write(arch: string, dir: string, options: PcImageOptions): Promise<string>;
}

const serial = (arch: string) => archInfo(arch).console;

export const PLATFORMS: Readonly<Record<string, Platform>> = {
  /** `nodeos run`: QEMU loads kernel and initramfs itself; disks and NIC are virtio. */
  qemu: {
    kind: 'kernel',
    arches: ['x64', 'arm64'],
    kernel: 'virtual',
    modules: ['virtio', 'disks', 'usb', 'filesystems', 'ethernet'],
    firmware: [],
    consoles: (arch) => [serial(arch)],
    dir: '',
    // zstd -19 against gzip -9 (bench, TCG): 34.7 MB against 46.4 MB, unpacked as fast (2.66 s against 2.60 s).
    compression: 'zstd',
  },
  /**
   * A disk image for PCs (UEFI and legacy BIOS) to write to a USB stick or a
   * disk: real controllers, a screen and a keyboard, serial when there is one.
   */
  pc: {
    kind: 'kernel',
    arches: ['x64'],
    kernel: 'hardware',
    modules: ['virtio', 'disks', 'usb', 'keyboards', 'watchdogs', 'filesystems', 'ethernet'],
    firmware: ['firmware-realtek', 'firmware-bnx2', 'firmware-misc-nonfree'],
    consoles: (arch) => [`${serial(arch)},115200`, 'tty0'],
    dir: 'pc',
    // As qemu's (same kernel family and archive, more modules): smaller, unpacked as fast.
    compression: 'zstd',
    write: buildPcImage,
  },
  /**
   * An SD card for Raspberry Pis (3, 4, 400, Zero 2 W, CM4): Debian's arm64
   * kernel and its Pi device trees, the Pi firmware, the GPIO UART's serial
   * console and the HDMI screen.
   */
  rpi: {
    kind: 'kernel',
    arches: ['arm64'],
    kernel: 'hardware',
    modules: ['raspberrypi', 'usb', 'keyboards', 'filesystems', 'ethernet'],
    firmware: [],
    consoles: () => ['ttyS1,115200', 'tty1'],
    dir: 'rpi',
    // zstd -19 unpacks faster than gzip -9 on the emulated Pi 3 (Run /init at 4.0-4.1 s against 4.2-4.5 s) and is 13 MB smaller (bench --rpi).
    compression: 'zstd',
    write: buildSdImage,
  },
  /** A container image for Docker, Podman and Kubernetes (`docker load -i`, `podman load -i`): OUT/ARCH/nodeos-oci.tar. */
  oci: {
    kind: 'container',
    arches: ['x64', 'arm64'],
    dir: '',
    write: async (arch, dir, { usersDir, owners, passwords, registry }) =>
      (await buildOciImage(arch, dir, usersDir ? { dir: usersDir, owners, passwords: passwords ?? {}, registry } : undefined)).archive,
  },
};

export function platformInfo(name: string, arch?: string): Platform {
  const platform = Object.hasOwn(PLATFORMS, name) ? PLATFORMS[name] : undefined;
  if (!platform) throw new Error(`unsupported --platform ${name} (supported: ${Object.keys(PLATFORMS).join(', ')})`);
  if (arch !== undefined && !platform.arches.includes(arch)) throw new Error(`--platform ${name} is built for ${platform.arches.join(', ')}, not --arch ${arch}`);
  return platform;
}

/** A platform that boots a kernel: what `build` makes kernel + initramfs for. */
export function kernelPlatform(name: string, arch?: string): KernelPlatform {
  const platform = platformInfo(name, arch);
  if (platform.kind !== 'kernel') throw new Error(`--platform ${name} runs on a container engine's kernel: it has no kernel or initramfs to boot`);
  return platform;
}

/** OUT/ARCH[/DIR]: where a platform's kernel, initramfs and manifest.json (or its container image) are written. */
export const platformDir = (out: string, arch: string, name: string) => resolve(out, arch, platformInfo(name).dir);
