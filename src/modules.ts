// Kernel modules, loaded the way udev's coldplug does: every device in sysfs
// names what it needs in its `modalias`; modules.alias maps that to a module,
// modules.dep to what must be loaded first. Devices that appear because a
// driver loaded (a virtio disk after virtio_pci) are found by looking again.
// The kernel runs each module's init, its devices' probe included, in the
// loading thread: loads run on libuv's pool, one at a time, while PID 1's
// loop goes on.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { Log } from './log';
import { MODULE_INIT, type Sys } from './sys';

export interface ModuleIndex {
  /** module → its file (below the modules folder) and every module it needs */
  deps: Map<string, { path: string; needs: string[] }>;
  /**
   * `prefix`: the glob's literal start, looked at first: most devices match
   * no pattern. Its regular expression is made the first time a modalias
   * starts with it: a PC kernel's index has thousands, and each costs a
   * parse, on an emulated CPU, before the first driver could load.
   */
  aliases: { prefix: string; glob: string; pattern?: RegExp; module: string }[];
  /** module → modules to load before it if they can be (ext4 → crc32c), but that it does not link against */
  softdeps: Map<string, string[]>;
  builtin: Set<string>;
}

/** Modules a kernel ships compressed, which it decompresses itself when asked to. */
const COMPRESSED = /\.ko\.(xz|zst|gz)$/;
/**
 * kernel/drivers/block/virtio_blk.ko.xz → virtio_blk, and dashes are
 * underscores to the kernel. String work, no regular expressions: this runs
 * for every line of the index before the first driver loads.
 */
function nameOf(path: string): string {
  const file = path.slice(path.lastIndexOf('/') + 1);
  const ko = file.lastIndexOf('.ko');
  const bare = ko >= 0 && (ko + 3 === file.length || file[ko + 3] === '.') ? file.slice(0, ko) : file;
  return bare.replaceAll('-', '_');
}

const words = (text: string) => text.split(' ').filter(Boolean);

/** What a glob says before its first * ? or [. */
function literalStart(glob: string): string {
  let end = 0;
  while (end < glob.length && !'*?['.includes(glob[end])) end++;
  return glob.slice(0, end);
}

export function parseModulesDep(text: string): ModuleIndex['deps'] {
  const deps: ModuleIndex['deps'] = new Map();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    deps.set(nameOf(path), { path, needs: words(line.slice(colon + 1)).map(nameOf) });
  }
  return deps;
}

/** modalias patterns are shell globs: * ? and [classes]. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) source += '\\[';
      else {
        source += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export function parseModulesAlias(text: string): ModuleIndex['aliases'] {
  const aliases: ModuleIndex['aliases'] = [];
  for (const line of text.split('\n')) {
    const [keyword, pattern, module] = words(line);
    if (keyword === 'alias' && pattern && module) aliases.push({ prefix: literalStart(pattern), glob: pattern, module: nameOf(module) });
  }
  return aliases;
}

/** A softdep's "pre: a b post: c" (from .modinfo or modules.softdep) → [a, b]: only what loads before matters to a loader. */
export const softdepsBefore = (softdep: string): string[] => /(?:^|\s)pre:\s*(.*?)(?:\s+post:.*)?$/.exec(softdep)?.[1].split(/\s+/).filter(Boolean) ?? [];

/** modprobe's "softdep NAME pre: A B [post: C]" lines. */
export function parseModulesSoftdep(text: string): ModuleIndex['softdeps'] {
  const softdeps: ModuleIndex['softdeps'] = new Map();
  for (const line of text.split('\n')) {
    const match = /^softdep\s+(\S+)\s+(.*)$/.exec(line.trim());
    const before = match ? softdepsBefore(match[2]) : [];
    if (before.length) softdeps.set(nameOf(match![1]), before.map(nameOf));
  }
  return softdeps;
}

export function modulesFor(modalias: string, index: ModuleIndex): string[] {
  return [...new Set(index.aliases.filter((a) => modalias.startsWith(a.prefix) && (a.pattern ??= globToRegExp(a.glob)).test(modalias)).map((a) => a.module))];
}

export function readModuleIndex(dir: string): ModuleIndex {
  const read = (name: string) => (existsSync(`${dir}/${name}`) ? readFileSync(`${dir}/${name}`, 'utf8') : '');
  return {
    deps: parseModulesDep(read('modules.dep')),
    aliases: parseModulesAlias(read('modules.alias')),
    softdeps: parseModulesSoftdep(read('modules.softdep')),
    builtin: new Set(read('modules.builtin').split('\n').filter(Boolean).map(nameOf)),
  };
}

/**
 * Every modalias in sysfs, one per device, read through /sys/bus/<bus>/devices:
 * the folders are listed here, the files read on the thread pool (most
 * devices have none: ACPI's, memory blocks, clock events), while PID 1's
 * loop goes on with the boot.
 */
export async function deviceAliases(sys: Pick<Sys, 'readSysfs'>, sysfs = '/sys'): Promise<string[]> {
  const paths: string[] = [];
  let buses: string[] = [];
  try {
    buses = readdirSync(`${sysfs}/bus`);
  } catch {
    return [];
  }
  for (const bus of buses) {
    try {
      for (const device of readdirSync(`${sysfs}/bus/${bus}/devices`)) paths.push(`${sysfs}/bus/${bus}/devices/${device}/modalias`);
    } catch {
      // A bus without devices.
    }
  }
  const texts = await sys.readSysfs(paths);
  return [...new Set(texts.map((text) => text?.trim()))].filter((alias): alias is string => Boolean(alias));
}

/** What a coldplug leaves for a later one: devices by their modalias, modules by their file below the modules folder. */
export interface Deferral {
  device(modalias: string): boolean;
  module(path: string): boolean;
}

/**
 * A PCI device of class 02 (network controller) or 0d (wireless), from its
 * modalias (`pci:v…d…sv…sd…bc02sc00i00`; the hex digits are capitals, so
 * `bc` is only ever the key).
 */
export function isNetworkDevice(modalias: string): boolean {
  if (!modalias.startsWith('pci:')) return false;
  const at = modalias.lastIndexOf('bc');
  const base = at < 0 ? '' : modalias.slice(at + 2, at + 4);
  return base === '02' || base === '0D';
}

/**
 * The network's devices and drivers: nothing before ready needs them (the
 * network starts after), so the boot's coldplug leaves them to the hotplug's
 * first look. Devices too, not only their drivers: a bus driver that only a
 * NIC asks for (virtio_pci for QEMU's virtio-net) would make ready wait for
 * its probe.
 */
export const NETWORK: Deferral = { device: isNetworkDevice, module: (path) => path.startsWith('kernel/drivers/net/') };

export interface ColdplugOptions {
  defer?: Deferral;
}

export class ModuleLoader {
  private readonly index: ModuleIndex;
  private readonly tried = new Set<string>();
  /** The last load asked for: each waits for the one before, so a module never loads before what it needs has. */
  private queue: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly sys: Sys,
    private readonly log: Log,
    private readonly dir = `/lib/modules/${release()}`,
  ) {
    this.index = readModuleIndex(dir);
  }

  /** Loads a module after what it needs; true when it was loaded now. Failures are logged. */
  async load(name: string): Promise<boolean> {
    return (await this.loadAll([name])) > 0;
  }

  /**
   * Loads modules, each after what it needs, in one job on the thread pool;
   * how many of them loaded now. Jobs run one at a time, in the order asked.
   */
  private loadAll(names: string[]): Promise<number> {
    const now = () => this.loadNow(names.map((name) => name.replace(/-/g, '_')));
    // With none in flight it starts at once, not a microtask later: the kernel gets it while the caller goes on.
    const run = this.pending === 0 ? now() : this.queue.then(now);
    this.pending++;
    this.queue = run.finally(() => this.pending--);
    return run;
  }

  private async loadNow(modules: string[]): Promise<number> {
    const order: { name: string; path: string }[] = [];
    for (const module of modules) this.plan(module, order);
    if (order.length === 0) return 0;
    const results = await this.sys.finitModules(order.map(({ path }) => [`${this.dir}/${path}`, '', COMPRESSED.test(path) ? MODULE_INIT.COMPRESSED_FILE : 0]));
    return order.filter(({ name }, i) => this.loaded(name, ...results[i]) && modules.includes(name)).length;
  }

  /** What loading a module takes, in order (its softdeps, what it links against, itself), each marked as tried. */
  private plan(module: string, order: { name: string; path: string }[]): void {
    if (this.tried.has(module) || this.index.builtin.has(module) || existsSync(`/sys/module/${module}/initstate`)) return;
    this.tried.add(module);
    const entry = this.index.deps.get(module);
    if (!entry) return this.log.warn(`${module}: not in ${this.dir}/modules.dep`);
    for (const before of this.index.softdeps.get(module) ?? []) this.plan(before, order);
    for (const need of entry.needs) this.plan(need, order);
    order.push({ name: module, path: entry.path });
  }

  /** Logs one module's load; true when it loaded now. */
  private loaded(module: string, err: NodeJS.ErrnoException | null, ms: number): boolean {
    if (!err) {
      this.log.info(`loaded ${module} (${Math.round(ms)} ms)`);
      return true;
    }
    // EEXIST: there already. ENODEV: not for this machine (crc32c_intel on a CPU without SSE4.2), as a softdep may well be.
    if (err.code !== 'EEXIST') this.log[err.code === 'ENODEV' ? 'debug' : 'warn'](`${module}: ${err.message}`);
    return false;
  }

  /** Loads a module this kernel has as one (a custom kernel has it built in, or not at all: no warning); true when it loaded now. */
  async loadIfModule(name: string): Promise<boolean> {
    return this.index.deps.has(name.replace(/-/g, '_')) && this.load(name);
  }

  /** Loads the modules that provide an alias, such as fs-ext4 for a filesystem; true when one loaded now. */
  async loadAlias(alias: string): Promise<boolean> {
    return (await this.loadAll(modulesFor(alias, this.index))) > 0;
  }

  /** Loads what the present devices need, again until no new module loads; returns how many loaded. */
  async coldplug({ defer }: ColdplugOptions = {}, sysfs = '/sys'): Promise<number> {
    let total = 0;
    for (;;) {
      const devices = (await deviceAliases(this.sys, sysfs)).filter((alias) => !defer?.device(alias));
      const wanted = new Set(devices.flatMap((alias) => modulesFor(alias, this.index)));
      const loaded = await this.loadAll([...wanted].filter((module) => !(defer && isDeferred(this.index, module, defer))));
      total += loaded;
      if (loaded === 0) return total;
    }
  }
}

const isDeferred = (index: ModuleIndex, module: string, defer: Deferral) => {
  const entry = index.deps.get(module);
  return entry !== undefined && defer.module(entry.path);
};
