// Kernel modules for the initramfs: the storage and filesystem drivers a
// machine needs to reach its users partition, with their dependencies, and
// the modules.dep / modules.alias that PID 1 resolves them with. The Debian
// package ships no modules.dep (depmod writes it at install time), so we read
// each module's own .modinfo section (its aliases and `depends=`), as depmod
// does.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CpioEntry } from '../initramfs/cpio';
import { softdepsBefore } from '../src/modules';

/**
 * The drivers an initramfs may carry, by what they are for. A platform picks
 * classes; what its kernel has not got (or has built in) is skipped.
 */
export const MODULE_CLASSES = {
  virtio: ['virtio_pci', 'virtio_blk', 'virtio_scsi', 'virtio_rng', 'virtio_net', 'virtio_console'],
  /** SATA, NVMe, SD cards and card readers. */
  disks: ['ahci', 'sd_mod', 'nvme', 'sdhci_pci', 'mmc_block'],
  /** USB host controllers (USB 3, 2 and 1.1), sticks and disks behind them. */
  usb: ['xhci_pci', 'ehci_pci', 'ohci_pci', 'uhci_hcd', 'usb_storage', 'uas'],
  /** USB keyboards, with the quirk drivers of common makes (PS/2 is built in). */
  keyboards: ['usbhid', 'hid_generic', 'hid_apple', 'hid_cherry', 'hid_chicony', 'hid_lenovo', 'hid_logitech_dj', 'hid_logitech_hidpp', 'hid_microsoft'],
  /** Hardware watchdogs: QEMU's i6300esb, Intel's TCO (behind lpc_ich) and AMD's. */
  watchdogs: ['i6300esb', 'lpc_ich', 'iTCO_wdt', 'sp5100_tco'],
  /** quota_v2 is the format of ext4's quota feature (the kernel would ask modprobe for it). */
  filesystems: ['ext4', 'quota_v2', 'vfat', 'nls_cp437', 'nls_utf8', 'nls_iso8859_1', 'squashfs'],
  /**
   * Raspberry Pi 3, 4, 400, Zero 2 W, CM4: the SD card (and on the Pi 4 the
   * regulators its probe waits for), USB (dwc2; the Pi 4's VL805 behind
   * PCIe), Ethernet with its PHYs, the watchdog its reboot goes through, and
   * the hardware RNG.
   */
  raspberrypi: ['sdhci_iproc', 'bcm2835', 'gpio_regulator', 'fixed', 'bcm2835_wdt', 'dwc2', 'pcie_brcmstb', 'reset_raspberrypi', 'xhci_pci', 'genet', 'mdio_bcm_unimac', 'broadcom', 'bcm7xxx', 'smsc95xx', 'lan78xx', 'microchip', 'bcm2835_rng', 'iproc_rng200'],
  /** The common PC Ethernet chips and USB Ethernet adapters. */
  ethernet: ['e1000', 'e1000e', 'igb', 'igc', 'r8169', 'tg3', 'bnx2', 'atl1c', 'alx', 'cdc_ether', 'r8152', 'asix', 'ax88179_178a', 'smsc95xx', 'lan78xx'],
} as const satisfies Record<string, readonly string[]>;

export type ModuleClass = keyof typeof MODULE_CLASSES;

export const modulesOf = (classes: readonly ModuleClass[]): string[] => classes.flatMap((c) => MODULE_CLASSES[c]);

export interface ModuleInfo {
  name: string;
  /** Path below lib/modules/VERSION, e.g. kernel/drivers/block/virtio_blk.ko */
  path: string;
  aliases: string[];
  depends: string[];
  /** Loaded first when present (softdep pre:), as module names or aliases such as crypto-crc32c. */
  softdeps: string[];
  /** Files the driver may ask for below /lib/firmware. */
  firmware: string[];
}

/** Module names use - and _ interchangeably; the kernel uses _. */
export const moduleName = (name: string) => name.replace(/-/g, '_').replace(/\.ko$/, '');

/** The NUL-separated key=value strings of an ELF64 little-endian object's .modinfo section. */
export function readModinfo(elf: Buffer): Map<string, string[]> {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('modinfo: not a 64-bit little-endian ELF file');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 0x18)), size: Number(elf.readBigUInt64LE(at + 0x20)) };
  };
  const names = section(elf.readUInt16LE(0x3e));
  const info = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const end = elf.indexOf(0, names.offset + s.name);
    if (elf.toString('latin1', names.offset + s.name, end) !== '.modinfo') continue;
    for (const field of elf.toString('utf8', s.offset, s.offset + s.size).split('\0')) {
      const eq = field.indexOf('=');
      if (eq > 0) info.set(field.slice(0, eq), [...(info.get(field.slice(0, eq)) ?? []), field.slice(eq + 1)]);
    }
    return info;
  }
  throw new Error('modinfo: no .modinfo section');
}

/** Every module of a kernel tree with its .modinfo facts, read once and kept beside it (as depmod does at install). */
export function moduleTree(modulesDir: string): Map<string, ModuleInfo> {
  const cache = join(modulesDir, 'nodeos-modules.json');
  if (existsSync(cache)) return new Map((JSON.parse(readFileSync(cache, 'utf8')) as ModuleInfo[]).map((m) => [m.name, m]));
  const tree: ModuleInfo[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else if (MODULE_FILE.test(entry.name)) tree.push(describeModule(modulesDir, join(d, entry.name)));
    }
  };
  walk(join(modulesDir, 'kernel'));
  writeFileSync(cache, JSON.stringify(tree));
  return new Map(tree.map((m) => [m.name, m]));
}

/** A module file: plain, or as some kernels ship them (PID 1 has the kernel decompress those). */
const MODULE_FILE = /\.ko(\.(xz|zst|gz))?$/;
const DECOMPRESS: Record<string, string> = { xz: 'xz', zst: 'zstd', gz: 'gzip' };

/** A module's ELF bytes, decompressed with the format's own tool when shipped compressed. */
function moduleBytes(file: string): Buffer {
  const format = MODULE_FILE.exec(file)?.[2];
  if (!format) return readFileSync(file);
  const result = spawnSync(DECOMPRESS[format], ['-dc', file], { maxBuffer: 256 << 20 });
  if (result.status !== 0) throw new Error(`modules: cannot decompress ${file} with ${DECOMPRESS[format]} (${result.error?.message ?? result.stderr})`);
  return result.stdout;
}

function describeModule(modulesDir: string, file: string): ModuleInfo {
  const info = readModinfo(moduleBytes(file));
  const list = (key: string) => (info.get(key)?.[0] ?? '').split(',').filter(Boolean).map(moduleName);
  return {
    name: moduleName(file.split('/').pop()!.replace(MODULE_FILE, '')),
    path: relative(modulesDir, file),
    aliases: info.get('alias') ?? [],
    depends: list('depends'),
    softdeps: (info.get('softdep') ?? []).flatMap(softdepsBefore),
    firmware: info.get('firmware') ?? [],
  };
}


/** A softdep names a module or a plain alias (crypto-crc32c, no patterns): every module it means. */
function providers(name: string, tree: Map<string, ModuleInfo>): string[] {
  if (tree.has(moduleName(name))) return [moduleName(name)];
  return [...tree.values()].filter((m) => m.aliases.includes(name)).map((m) => m.name);
}

/** The wanted modules and everything they depend on, dependencies first; softdeps resolved to module names. */
export function resolveModules(modulesDir: string, wanted: readonly string[]): { modules: ModuleInfo[]; builtin: string[]; missing: string[] } {
  const tree = moduleTree(modulesDir);
  const builtinFile = join(modulesDir, 'modules.builtin');
  const builtin = new Set(existsSync(builtinFile) ? readFileSync(builtinFile, 'utf8').split('\n').filter(Boolean).map((p) => moduleName(p.split('/').pop()!)) : []);
  const ordered: ModuleInfo[] = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  const visit = (name: string) => {
    if (seen.has(name) || builtin.has(name)) return;
    seen.add(name);
    const found = tree.get(name);
    if (!found) return void missing.push(name);
    const module = { ...found, softdeps: found.softdeps.flatMap((s) => providers(s, tree)).filter((n) => !builtin.has(n)) };
    [...module.softdeps, ...module.depends].forEach(visit);
    ordered.push(module);
  };
  wanted.map(moduleName).forEach(visit);
  return { modules: ordered, builtin: wanted.map(moduleName).filter((n) => builtin.has(n)), missing };
}

/** depmod's formats: "path: dep-path …" (every dependency, load order last-first), "alias PATTERN name" and "softdep name pre: names". */
export function depmodFiles(modules: readonly ModuleInfo[]): { dep: string; alias: string; softdep: string } {
  const byName = new Map(modules.map((m) => [m.name, m]));
  const closure = (m: ModuleInfo, acc: ModuleInfo[] = []): ModuleInfo[] => {
    for (const d of m.depends.map((n) => byName.get(n)).filter((x): x is ModuleInfo => !!x)) {
      if (!acc.includes(d)) {
        acc.push(d);
        closure(d, acc);
      }
    }
    return acc;
  };
  const dep = modules.map((m) => `${m.path}:${closure(m).map((d) => ` ${d.path}`).join('')}\n`).join('');
  const alias = modules.flatMap((m) => m.aliases.map((a) => `alias ${a} ${m.name}\n`)).join('');
  const softdep = modules.filter((m) => m.softdeps.length).map((m) => `softdep ${m.name} pre: ${m.softdeps.join(' ')}\n`).join('');
  return { dep, alias, softdep };
}

/** Initramfs entries: lib/modules/VERSION/{the .ko files, modules.dep, .alias, .softdep, .builtin}. */
export function moduleEntries(modulesDir: string, version: string, wanted: readonly string[]): { entries: CpioEntry[]; modules: ModuleInfo[]; missing: string[] } {
  const { modules, missing } = resolveModules(modulesDir, wanted);
  const base = `lib/modules/${version}`;
  const { dep, alias, softdep } = depmodFiles(modules);
  const builtinFile = join(modulesDir, 'modules.builtin');
  const entries: CpioEntry[] = [
    ...modules.map((m): CpioEntry => ({ type: 'file', path: `${base}/${m.path}`, mode: 0o644, data: readFileSync(join(modulesDir, m.path)) })),
    { type: 'file', path: `${base}/modules.dep`, mode: 0o644, data: Buffer.from(dep) },
    { type: 'file', path: `${base}/modules.alias`, mode: 0o644, data: Buffer.from(alias) },
    { type: 'file', path: `${base}/modules.softdep`, mode: 0o644, data: Buffer.from(softdep) },
    { type: 'file', path: `${base}/modules.builtin`, mode: 0o644, data: existsSync(builtinFile) ? readFileSync(builtinFile) : Buffer.alloc(0) },
  ];
  return { entries, modules, missing };
}
