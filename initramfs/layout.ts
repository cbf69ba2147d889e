// What the NodeOS initramfs holds, as cpio entries: the node binary and the
// shared libraries it links, PID 1's bundle at /lib/nodeos/init.js (run by the
// kernel through the /init symlink and its #!/bin/node line), the addon beside
// it, the mount points PID 1 fills, and the device nodes the kernel needs
// before devtmpfs is mounted (it opens /dev/console as init's stdio).
import type { CpioEntry } from './cpio';
import { withParents } from './cpio';
import { NET_DIR } from '../src/net/resolver';

export interface InitramfsInputs {
  /** The node executable, at /bin/node. */
  node: Buffer;
  /** Shared libraries, at the absolute paths the dynamic linker looks for them. */
  libs: readonly { path: string; data: Buffer }[];
  /** The PID 1 program, a script starting with #!/bin/node. */
  init: Buffer;
  /** The syscall addon, loaded from beside init.js. */
  addon?: Buffer;
  /** Programs PID 1 runs, beside init.js: the users' launcher, a login session, the SFTP server (file name → content). */
  helpers?: Readonly<Record<string, Buffer>>;
  /** /usr/bin/env (a #!/bin/node script), so #!/usr/bin/env node works. */
  env?: Buffer;
  /** /bin/sh (a #!/bin/node script), for npm scripts and `shell: true`. */
  sh?: Buffer;
  /** npm's files, /usr/bin/npm and npx. */
  npm?: readonly CpioEntry[];
  /** Anything else, e.g. kernel modules under lib/modules. */
  extra?: readonly CpioEntry[];
}

export const INIT_PATH = 'lib/nodeos/init.js';

export function initramfsEntries(inputs: InitramfsInputs): CpioEntry[] {
  const entries: CpioEntry[] = [
    ...['dev', 'proc', 'sys', 'run', 'root'].map((path): CpioEntry => ({ type: 'dir', path, mode: 0o755 })),
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    { type: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 },
    { type: 'char', path: 'dev/kmsg', mode: 0o644, major: 1, minor: 11 },
    { type: 'file', path: 'bin/node', mode: 0o755, data: inputs.node },
    { type: 'file', path: INIT_PATH, mode: 0o755, data: inputs.init },
    { type: 'symlink', path: 'init', target: INIT_PATH },
    ...inputs.libs.map((lib): CpioEntry => ({ type: 'file', path: lib.path, mode: 0o755, data: lib.data })),
    // The system is read-only: the name files PID 1 writes live in a tmpfs (src/net/resolver.ts).
    { type: 'symlink', path: 'etc/resolv.conf', target: `${NET_DIR}/resolv.conf` },
    { type: 'symlink', path: 'etc/hosts', target: `${NET_DIR}/hosts` },
  ];
  entries.push(...(inputs.extra ?? []), ...(inputs.npm ?? []));
  if (inputs.sh) entries.push({ type: 'file', path: 'bin/sh', mode: 0o755, data: inputs.sh });
  if (inputs.addon) entries.push({ type: 'file', path: 'lib/nodeos/nodeos.node', mode: 0o755, data: inputs.addon });
  for (const [name, data] of Object.entries(inputs.helpers ?? {})) entries.push({ type: 'file', path: `lib/nodeos/${name}`, mode: 0o644, data });
  if (inputs.env) {
    entries.push({ type: 'file', path: 'usr/bin/env', mode: 0o755, data: inputs.env }, { type: 'symlink', path: 'usr/bin/node', target: '/bin/node' });
  }
  return withParents(entries);
}
