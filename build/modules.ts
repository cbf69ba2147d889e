// Kernel modules for the initramfs: the storage and filesystem drivers a
// machine needs to reach its users partition, with their dependencies, and
// the modules.dep / modules.alias that PID 1 resolves them with. The Debian
// package ships no modules.dep (depmod writes it at install time), so we read
// each module's own .modinfo section (its aliases and `depends=`), as depmod
// does.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CpioEntry } from '../initramfs/cpio';

/** Drivers to reach disks and networks on VMs and PCs; what a kernel has not got (or has built in) is skipped. */
export const WANTED_MODULES = [
  'virtio_pci', 'virtio_blk', 'virtio_scsi', 'virtio_rng',
  'ahci', 'sd_mod', 'nvme',
  'xhci_pci', 'ehci_pci', 'usb_storage', 'uas',
  'sdhci_pci', 'mmc_block',
  'ext4', 'vfat', 'nls_cp437', 'nls_utf8', 'squashfs',
  // Network: virtio, the common PC Ethernet chips, USB Ethernet adapters
  'virtio_net', 'e1000', 'e1000e', 'igb', 'r8169', 'cdc_ether', 'r8152', 'asix', 'ax88179_178a', 'smsc95xx', 'lan78xx',
];

export interface ModuleInfo {
  name: string;
  /** Path below lib/modules/VERSION, e.g. kernel/drivers/block/virtio_blk.ko */
  path: string;
  aliases: string[];
  depends: string[];
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

function findModules(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else if (entry.name.endsWith('.ko')) found.set(moduleName(entry.name), join(d, entry.name));
    }
  };
  walk(join(dir, 'kernel'));
  return found;
}

/** The wanted modules and everything they depend on, dependencies first. */
export function resolveModules(modulesDir: string, wanted: readonly string[]): { modules: ModuleInfo[]; builtin: string[]; missing: string[] } {
  const files = findModules(modulesDir);
  const builtinFile = join(modulesDir, 'modules.builtin');
  const builtin = new Set(existsSync(builtinFile) ? readFileSync(builtinFile, 'utf8').split('\n').filter(Boolean).map((p) => moduleName(p.split('/').pop()!)) : []);
  const ordered: ModuleInfo[] = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  const visit = (name: string) => {
    if (seen.has(name) || builtin.has(name)) return;
    seen.add(name);
    const file = files.get(name);
    if (!file) return void missing.push(name);
    const info = readModinfo(readFileSync(file));
    const depends = (info.get('depends')?.[0] ?? '').split(',').filter(Boolean).map(moduleName);
    depends.forEach(visit);
    ordered.push({ name, path: relative(modulesDir, file), aliases: info.get('alias') ?? [], depends });
  };
  wanted.map(moduleName).forEach(visit);
  return { modules: ordered, builtin: wanted.map(moduleName).filter((n) => builtin.has(n)), missing };
}

/** depmod's formats: "path: dep-path …" (every dependency, load order last-first) and "alias PATTERN name". */
export function depmodFiles(modules: readonly ModuleInfo[]): { dep: string; alias: string } {
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
  return { dep, alias };
}

/** Initramfs entries: lib/modules/VERSION/{the .ko files, modules.dep, modules.alias, modules.builtin}. */
export function moduleEntries(modulesDir: string, version: string, wanted: readonly string[] = WANTED_MODULES): { entries: CpioEntry[]; modules: ModuleInfo[]; missing: string[] } {
  const { modules, missing } = resolveModules(modulesDir, wanted);
  const base = `lib/modules/${version}`;
  const { dep, alias } = depmodFiles(modules);
  const builtinFile = join(modulesDir, 'modules.builtin');
  const entries: CpioEntry[] = [
    ...modules.map((m): CpioEntry => ({ type: 'file', path: `${base}/${m.path}`, mode: 0o644, data: readFileSync(join(modulesDir, m.path)) })),
    { type: 'file', path: `${base}/modules.dep`, mode: 0o644, data: Buffer.from(dep) },
    { type: 'file', path: `${base}/modules.alias`, mode: 0o644, data: Buffer.from(alias) },
    { type: 'file', path: `${base}/modules.builtin`, mode: 0o644, data: existsSync(builtinFile) ? readFileSync(builtinFile) : Buffer.alloc(0) },
  ];
  return { entries, modules, missing };
}
