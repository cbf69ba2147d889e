// What a NodeOS root holds, as archive entries, in three parts: the runtime
// (the node binary and the shared libraries it links, npm, /bin/sh,
// /usr/bin/env), the system (PID 1's bundle at /lib/nodeos/init.js, its
// compile cache and boot.js that loads both, the addon and the programs it
// runs beside it), and what only a kernel's PID 1
// needs (the /init symlink the kernel runs, the device nodes it opens before
// devtmpfs is mounted, name files leading to the tmpfs PID 1 writes). The
// initramfs is all three; a container image is the first two as layers
// (build/oci.ts), the engine providing /dev and the name files.
import type { CpioEntry } from './cpio';
import { withParents } from './cpio';
import { NET_DIR } from '../src/net/resolver';
import { ADDON_FILE } from '../src/sys';

export interface RuntimeInputs {
  /** The node executable, at /bin/node. */
  node: Buffer;
  /** Shared libraries, at the absolute paths the dynamic linker looks for them. */
  libs: readonly { path: string; data: Buffer }[];
  /** /usr/bin/env (a #!/bin/node script), so #!/usr/bin/env node works. */
  env?: Buffer;
  /** /bin/sh (a #!/bin/node script), for npm scripts and `shell: true`. */
  sh?: Buffer;
  /** npm's files, /usr/bin/npm and npx. */
  npm?: readonly CpioEntry[];
}

export interface SystemInputs {
  /** The PID 1 program (its bundle). */
  init: Buffer;
  /** What the kernel runs as /init (a #!/bin/node script): it turns the compile cache on and loads init. */
  boot: Buffer;
  /** V8's compiled code for init, under lib/nodeos/compile-cache (none when the build could not make it). */
  compileCache?: readonly CpioEntry[];
  /** The syscall addon, loaded from beside init.js. */
  addon?: Buffer;
  /** Programs PID 1 runs, beside init.js: the users' launcher, a login session, the SFTP server (file name → content). */
  helpers?: Readonly<Record<string, Buffer>>;
  /** Packages PID 1 loads but cannot bundle (blessed), below lib/node_modules, where require() finds them from lib/nodeos. */
  packages?: readonly CpioEntry[];
}

export interface InitramfsInputs extends RuntimeInputs, SystemInputs {
  /** Anything else, e.g. kernel modules under lib/modules. */
  extra?: readonly CpioEntry[];
}

/** PID 1's folder: its bundle, the /init that loads it, the addon and the programs it runs. */
export const SYSTEM_DIR = 'lib/nodeos';
export const INIT_FILE = 'init.js';
export const BOOT_FILE = 'boot.js';
export const INIT_PATH = `${SYSTEM_DIR}/${INIT_FILE}`;
/** What starts PID 1: the kernel's /init, a container's entrypoint. */
export const BOOT_PATH = `${SYSTEM_DIR}/${BOOT_FILE}`;

/** The mount points every NodeOS root has, and a world-writable /tmp. */
export const mountPoints = (): CpioEntry[] => [
  ...['dev', 'proc', 'sys', 'run', 'root'].map((path): CpioEntry => ({ type: 'dir', path, mode: 0o755 })),
  { type: 'dir', path: 'tmp', mode: 0o1777 },
];

export function runtimeEntries(inputs: RuntimeInputs): CpioEntry[] {
  const entries: CpioEntry[] = [
    { type: 'file', path: 'bin/node', mode: 0o755, data: inputs.node },
    ...inputs.libs.map((lib): CpioEntry => ({ type: 'file', path: lib.path, mode: 0o755, data: lib.data })),
    ...(inputs.npm ?? []),
  ];
  if (inputs.sh) entries.push({ type: 'file', path: 'bin/sh', mode: 0o755, data: inputs.sh });
  if (inputs.env) {
    entries.push({ type: 'file', path: 'usr/bin/env', mode: 0o755, data: inputs.env }, { type: 'symlink', path: 'usr/bin/node', target: '/bin/node' });
  }
  return entries;
}

export function systemEntries(inputs: SystemInputs): CpioEntry[] {
  const entries: CpioEntry[] = [
    { type: 'file', path: BOOT_PATH, mode: 0o755, data: inputs.boot },
    { type: 'file', path: INIT_PATH, mode: 0o755, data: inputs.init },
    ...(inputs.compileCache ?? []),
  ];
  if (inputs.addon) entries.push({ type: 'file', path: `${SYSTEM_DIR}/${ADDON_FILE}`, mode: 0o755, data: inputs.addon });
  for (const [name, data] of Object.entries(inputs.helpers ?? {})) entries.push({ type: 'file', path: `${SYSTEM_DIR}/${name}`, mode: 0o644, data });
  entries.push(...(inputs.packages ?? []));
  return entries;
}

/** What the kernel itself looks for in its initramfs. */
const kernelEntries = (): CpioEntry[] => [
  { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
  { type: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 },
  { type: 'char', path: 'dev/kmsg', mode: 0o644, major: 1, minor: 11 },
  { type: 'symlink', path: 'init', target: BOOT_PATH },
  // The system is read-only: the name files PID 1 writes live in a tmpfs (src/net/resolver.ts).
  { type: 'symlink', path: 'etc/resolv.conf', target: `${NET_DIR}/resolv.conf` },
  { type: 'symlink', path: 'etc/hosts', target: `${NET_DIR}/hosts` },
];

export function initramfsEntries(inputs: InitramfsInputs): CpioEntry[] {
  return withParents([...mountPoints(), ...kernelEntries(), ...runtimeEntries(inputs), ...systemEntries(inputs), ...(inputs.extra ?? [])]);
}

/** Built from our sources: PID 1's folder, /bin/sh and /usr/bin/env. */
const fromOurSources = (entry: CpioEntry) => entry.path.startsWith(`${SYSTEM_DIR}/`) || entry.path === 'bin/sh' || entry.path === 'usr/bin/env';

/**
 * The initramfs as archives the kernel unpacks one after the other (it takes
 * a concatenation): what the Node, npm and kernel packages give, then what
 * our sources build, small and last. A rebuild after an edit compresses only
 * the second (build/image.ts keeps each compressed by its content).
 */
export function initramfsArchives(inputs: InitramfsInputs): CpioEntry[][] {
  const entries = initramfsEntries(inputs);
  // Folders too: the compile cache's is named for node's version and V8 flags, which must not make the large one new.
  const ours = entries.filter(fromOurSources);
  return [entries.filter((e) => !ours.includes(e)), withParents(ours)];
}
