// Node's compile cache for PID 1's bundle, shipped in the image beside it
// (src/boot.ts turns it on). Made by the image's own node on this host: it
// runs /init from a folder laid out like lib/nodeos (with the addon, through
// which /init sets V8's flags, which name the cache's folder), where the bundle loads
// every module, refuses to go on (it is not PID 1) and exits, and node writes
// V8's bytecode for what it compiled. Another arch's node runs under QEMU's
// user-mode emulator with its libraries from the image's sysroot: V8's
// bytecode is the same whatever runs it, and a Pi would otherwise compile
// PID 1 from source at every boot. V8's output differs from run to run, so
// a cache is kept by its inputs' hash: the same sources give the same image.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CpioEntry } from '../initramfs/cpio';
import { COMPILE_CACHE_DIR } from '../src/compile-cache';
import { parseShebang } from '../src/node-script';
import { BOOT_FILE, INIT_FILE, SYSTEM_DIR } from '../initramfs/layout';
import { ADDON_FILE } from '../src/sys';
import { treeEntries } from './tree-entries';
import { CACHE } from './paths';
import { archInfo, isHostArch } from './versions';

export interface CacheInputs {
  arch: string;
  /** The image's node, which must be the one that makes the cache (V8 rejects another's). */
  node: string;
  /** What runs it here: nothing for the host's arch, QEMU's user-mode emulator for another; undefined when this host has none. */
  runner: string[] | undefined;
  nodeVersion: string;
  boot: Buffer;
  init: Buffer;
  /** The arch's addon: /init sets V8's flags with it before turning the cache on. */
  addon: Buffer;
}

/** The command prefix that runs an arch's node on this host, or undefined when nothing here can (no qemu-user). */
export function nodeRunner(arch: string, sysroot: string): string[] | undefined {
  if (isHostArch(arch)) return [];
  const emulator = archInfo(arch).qemuUser;
  return spawnSync(emulator, ['--version']).status === 0 ? [emulator, '-L', sysroot] : undefined;
}

/** The cache's files at lib/nodeos/compile-cache/…, or none when this host cannot run the arch's node. */
export function compileCacheEntries(inputs: CacheInputs): CpioEntry[] {
  const { runner } = inputs;
  if (!runner) return []; // PID 1 then logs that it compiled from source
  const key = createHash('sha256').update(`${inputs.arch} ${inputs.nodeVersion}\0`).update(inputs.boot).update(inputs.init).update(inputs.addon).digest('hex').slice(0, 16);
  const kept = join(CACHE, 'compile-cache', key);
  if (!existsSync(kept)) make(inputs, runner, kept);
  return treeEntries(kept, `${SYSTEM_DIR}/${COMPILE_CACHE_DIR}`);
}

/**
 * The node option in /init's #! line: the kernel (or a container engine)
 * runs node with it, as one argument. V8 keys its cache by its flags, so
 * the cache is made with it too.
 */
export function shebangOption(script: Buffer): string[] {
  const argument = parseShebang(script)?.argument;
  return argument ? [argument] : [];
}

function make(inputs: CacheInputs, runner: string[], kept: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'nodeos-compile-cache-'));
  try {
    writeFileSync(join(dir, BOOT_FILE), inputs.boot);
    writeFileSync(join(dir, INIT_FILE), inputs.init);
    writeFileSync(join(dir, ADDON_FILE), inputs.addon);
    try {
      // env -i: no NODE_OPTIONS or NODE_COMPILE_CACHE of ours may change what V8 makes.
      execFileSync('env', ['-i', ...runner, inputs.node, ...shebangOption(inputs.boot), join(dir, BOOT_FILE)], { stdio: 'pipe', timeout: 300_000 });
    } catch {
      // Expected: the bundle refuses to run unless it is PID 1 (exit 1), once its modules are loaded.
    }
    const made = join(dir, COMPILE_CACHE_DIR);
    if (!existsSync(made)) throw new Error(`compile cache: ${inputs.node} made none`);
    mkdirSync(join(kept, '..'), { recursive: true });
    cpSync(made, `${kept}.tmp`, { recursive: true });
    renameSync(`${kept}.tmp`, kept);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
