import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { depmodFiles, readModinfo, resolveModules, type ModuleInfo } from '../../build/modules';
import { fakeSys, memoryLog } from '../fixtures/fake-sys';
import { sys } from '../../src/sys';
import { ModuleLoader, NETWORK, isNetworkDevice, deviceAliases, globToRegExp, modulesFor, parseModulesAlias, parseModulesDep, parseModulesSoftdep, softdepsBefore, type ModuleIndex } from '../../src/modules';

t.test('modalias globs', async (t) => {
  const re = globToRegExp('pci:v00001AF4d*sv*sd*bc*sc*i*');
  t.ok(re.test('pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00'));
  t.notOk(re.test('pci:v00008086d00001001sv00001AF4sd00000002bc01sc00i00'));
  t.ok(globToRegExp('usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*').test('usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00'));
  t.ok(globToRegExp('acpi*:PNP0A0[38]:*').test('acpi:PNP0A08:'));
  t.notOk(globToRegExp('acpi*:PNP0A0[38]:*').test('acpi:PNP0A05:'));
  t.ok(globToRegExp('of:N*T*C[!x]').test('of:NfooTbarCa'));
  t.ok(globToRegExp('a.b?').test('a.bc'));
  t.notOk(globToRegExp('a.b').test('axb'), 'dots are literal');
});

const info = (name: string, path: string, aliases: string[], depends: string[], softdeps: string[] = []): ModuleInfo => ({ name, path, aliases, depends, softdeps, firmware: [] });
const modules: ModuleInfo[] = [
  info('virtio_ring', 'kernel/drivers/virtio/virtio_ring.ko', [], []),
  info('virtio', 'kernel/drivers/virtio/virtio.ko', [], ['virtio_ring']),
  info('virtio_blk', 'kernel/drivers/block/virtio_blk.ko', ['virtio:d00000002v*'], ['virtio', 'virtio_ring']),
  info('virtio_rng', 'kernel/drivers/char/hw_random/virtio-rng.ko', ['virtio:d00000004v*'], ['virtio']),
  info('crc32c_generic', 'kernel/crypto/crc32c_generic.ko', ['crypto-crc32c'], []),
  info('ext4', 'kernel/fs/ext4/ext4.ko', ['fs-ext4'], [], ['crc32c_generic']),
];

t.test('the depmod files we write read back as the same graph', async (t) => {
  const { dep, alias, softdep } = depmodFiles(modules);
  const index: ModuleIndex = { deps: parseModulesDep(dep), aliases: parseModulesAlias(alias), softdeps: parseModulesSoftdep(softdep), builtin: new Set() };
  t.same(index.deps.get('virtio_blk'), { path: 'kernel/drivers/block/virtio_blk.ko', needs: ['virtio', 'virtio_ring'] });
  t.same(index.deps.get('virtio_rng')?.needs, ['virtio', 'virtio_ring'], 'transitive needs, file names with - become _');
  t.same(modulesFor('virtio:d00000002v00001AF4', index), ['virtio_blk']);
  t.same(modulesFor('virtio:d00000004v00001AF4', index), ['virtio_rng']);
  t.same(modulesFor('pci:v00008086d00001237sv*', index), []);
  t.same(modulesFor('fs-ext4', index), ['ext4'], 'a filesystem is found by its fs- alias');
  t.same(index.softdeps.get('ext4'), ['crc32c_generic'], 'softdeps come back as module names');
  t.notOk(index.softdeps.has('virtio_blk'));
});

t.test('module names from compressed files, dashes as underscores', async (t) => {
  const deps = parseModulesDep('kernel/drivers/char/hw_random/virtio-rng.ko.zst: kernel/drivers/virtio/virtio.ko.xz kernel/lib/kobject-uevent.ko\n');
  t.same([...deps.keys()], ['virtio_rng']);
  t.same(deps.get('virtio_rng')?.needs, ['virtio', 'kobject_uevent']);
  const index = { deps: new Map(), softdeps: new Map(), builtin: new Set<string>(), aliases: parseModulesAlias('alias acpi*:PNP0A0[38]:* pci_root\nalias usb:v0403p6001d0[4-5]*dc* ftdi_sio\n') };
  const [acpi, usb] = index.aliases;
  t.equal(acpi.prefix, 'acpi', 'a pattern is looked at from its literal start');
  t.same(modulesFor('pci:v00001AF4d00001001', index), []);
  t.equal(acpi.pattern, undefined, 'its regular expression made only once a modalias starts with it');
  t.same(modulesFor('acpi:PNP0A08:', index), ['pci_root']);
  t.same(modulesFor('acpi:PNP0A05:', index), []);
  t.ok(acpi.pattern, 'and kept');
  t.same(modulesFor('usb:v0403p6001d0500dc00', index), ['ftdi_sio'], 'classes with ranges');
  t.equal(usb.glob, 'usb:v0403p6001d0[4-5]*dc*');
});

t.test('softdep lines: only what loads before counts', async (t) => {
  t.same(softdepsBefore('pre: crypto-crc32c'), ['crypto-crc32c']);
  t.same(softdepsBefore('pre: a b post: c'), ['a', 'b']);
  t.same(softdepsBefore('post: c'), []);
  t.same([...parseModulesSoftdep('softdep ext4 pre: crc32c_generic crc32c-intel post: x\nsoftdep broken\n').entries()], [['ext4', ['crc32c_generic', 'crc32c_intel']]]);
});

t.test('device aliases come from /sys/bus/*/devices/*/modalias, read by the addon on the thread pool', async (t) => {
  const sysfs = t.testdir({
    bus: {
      pci: { devices: { '0000:00:04.0': { modalias: 'pci:v00001AF4d00001001\n' }, '0000:00:00.0': {}, '0000:00:05.0': { modalias: 'pci:v00001AF4d00001001\n' } } },
      virtio: { devices: { virtio0: { modalias: 'virtio:d00000002v00001AF4\n' }, virtio1: { modalias: '\n' } } },
      empty: {},
    },
  });
  t.same((await deviceAliases(sys(), sysfs)).sort(), ['pci:v00001AF4d00001001', 'virtio:d00000002v00001AF4'], 'each once; none for a device without one, or with an empty one');
  t.same(await deviceAliases(sys(), join(sysfs, 'missing')), []);
  t.same(await sys().readSysfs([join(sysfs, 'bus/virtio/devices/virtio0/modalias'), join(sysfs, 'none'), sysfs]), ['virtio:d00000002v00001AF4\n', null, null], 'the text; null where there is none, or it cannot be read (a folder)');
  t.throws(() => (sys() as unknown as { readSysfs(x: unknown): unknown }).readSysfs([42]), TypeError);
});

/** depmod's index files for a module graph, into a modules folder. */
function writeIndex(modules: string, graph: ModuleInfo[]): void {
  const { dep, alias, softdep } = depmodFiles(graph);
  for (const [name, text] of Object.entries({ 'modules.dep': dep, 'modules.alias': alias, 'modules.softdep': softdep, 'modules.builtin': '' })) writeFileSync(join(modules, name), text);
}

t.test('coldplug: one job per look (what each module needs first), one job at a time; network drivers left for later when asked', async (t) => {
  const dir = t.testdir({
    modules: {},
    sys: {
      bus: {
        virtio: { devices: { virtio0: { modalias: 'virtio:d00000001v00001AF4\n' }, virtio1: { modalias: 'virtio:d00000002v00001AF4\n' } } },
        pci: {
          devices: {
            '0000:00:03.0': { modalias: 'pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00\n' }, // the NIC
            '0000:00:04.0': { modalias: 'pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00\n' }, // the disk
          },
        },
      },
    },
  });
  // Names no host has loaded (the loader also asks /sys/module).
  const graph: ModuleInfo[] = [
    info('nodeos_test_ring', 'kernel/drivers/virtio/nodeos_test_ring.ko', [], []),
    info('nodeos_test_pci', 'kernel/drivers/virtio/nodeos_test_pci.ko', ['pci:v00001AF4d*'], ['nodeos_test_ring']),
    info('nodeos_test_blk', 'kernel/drivers/block/nodeos_test_blk.ko', ['virtio:d00000002v*'], ['nodeos_test_ring']),
    info('nodeos_test_failover', 'kernel/net/core/nodeos_test_failover.ko', [], []),
    info('nodeos_test_net', 'kernel/drivers/net/nodeos_test_net.ko', ['virtio:d00000001v*'], ['nodeos_test_failover', 'nodeos_test_ring']),
  ];
  writeIndex(join(dir, 'modules'), graph);
  const events: string[] = [];
  let jobStarted = () => {};
  const started = new Promise<void>((resolve) => (jobStarted = resolve));
  const sys = {
    ...fakeSys(),
    // The slow one first: a load that waited for nothing would end before it.
    finitModules: async (modules: [string, string, number][]) => {
      const names = modules.map(([path]) => path.split('/').pop()!.replace('.ko', ''));
      events.push(`start ${names.join(' ')}`);
      jobStarted();
      await new Promise((resolve) => setTimeout(resolve, names.includes('nodeos_test_ring') ? 30 : 1));
      events.push(`end ${names.join(' ')}`);
      return modules.map((): [null, number] => [null, 1]);
    },
  };
  const loader = new ModuleLoader(sys, memoryLog(), join(dir, 'modules'));
  const booting = loader.coldplug({ defer: NETWORK }, join(dir, 'sys'));
  await started; // the look itself is read first, on the thread pool
  const asked = loader.load('nodeos_test_failover');
  t.equal(await booting, 2, 'the bus and the disk driver');
  t.equal(await asked, true);
  t.same(events, [
    'start nodeos_test_ring nodeos_test_pci nodeos_test_blk',
    'end nodeos_test_ring nodeos_test_pci nodeos_test_blk',
    'start nodeos_test_failover',
    'end nodeos_test_failover',
  ], 'the ring once and first; a load asked meanwhile waits for the job before');
  events.length = 0;
  t.equal(await loader.coldplug({}, join(dir, 'sys')), 1, 'later, the network driver');
  t.same(events, ['start nodeos_test_net', 'end nodeos_test_net']);
  t.ok(NETWORK.module('kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz'));
  t.notOk(NETWORK.module('kernel/drivers/usb/storage/usb-storage.ko.xz'));
});

t.test('coldplug: a bus driver that only a NIC asks for is left for later too', async (t) => {
  const dir = t.testdir({
    modules: {},
    sys: { bus: { pci: { devices: { '0000:00:03.0': { modalias: 'pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00\n' } } } } },
  });
  const graph: ModuleInfo[] = [info('nodeos_test_nicbus', 'kernel/drivers/virtio/nodeos_test_nicbus.ko', ['pci:v00001AF4d*'], [])];
  writeIndex(join(dir, 'modules'), graph);
  const loaded: string[] = [];
  const sys = {
    ...fakeSys(),
    finitModules: async (modules: [string, string, number][]) => {
      loaded.push(...modules.map(([path]) => path.split('/').pop()!));
      return modules.map((): [null, number] => [null, 1]);
    },
  };
  const loader = new ModuleLoader(sys, memoryLog(), join(dir, 'modules'));
  t.equal(await loader.coldplug({ defer: NETWORK }, join(dir, 'sys')), 0, 'the boot waits for no driver');
  t.equal(await loader.coldplug({}, join(dir, 'sys')), 1, 'the hotplug\'s first look loads it');
  t.same(loaded, ['nodeos_test_nicbus.ko']);
  t.ok(isNetworkDevice('pci:v00008086d000010D3sv00008086sd00000000bc02sc00i00'), 'an Ethernet controller');
  t.ok(isNetworkDevice('pci:v00008086d00002723sv00008086sd00000084bc0Dsc80i00'), 'class 0d, wireless');
  t.notOk(isNetworkDevice('pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00'), 'a disk');
  t.notOk(isNetworkDevice('virtio:d00000001v00001AF4'), 'not PCI: its driver\'s path decides');
});

/** A minimal ELF64 with a section-name table and a .modinfo section holding `fields`. */
function moduleElf(fields: string[]): Buffer {
  const names = Buffer.from('\0.shstrtab\0.modinfo\0');
  const info = Buffer.from(`${fields.join('\0')}\0`);
  const shoff = 64 + names.length + info.length;
  const elf = Buffer.alloc(shoff + 3 * 64);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2;
  elf[5] = 1;
  elf.writeBigUInt64LE(BigInt(shoff), 0x28);
  elf.writeUInt16LE(64, 0x3a);
  elf.writeUInt16LE(3, 0x3c);
  elf.writeUInt16LE(1, 0x3e);
  names.copy(elf, 64);
  info.copy(elf, 64 + names.length);
  const section = (i: number, name: number, offset: number, size: number) => {
    elf.writeUInt32LE(name, shoff + i * 64);
    elf.writeBigUInt64LE(BigInt(offset), shoff + i * 64 + 0x18);
    elf.writeBigUInt64LE(BigInt(size), shoff + i * 64 + 0x20);
  };
  section(1, 1, 64, names.length);
  section(2, 11, 64 + names.length, info.length);
  return elf;
}

t.test('.modinfo is read from an ELF section', async (t) => {
  const parsed = readModinfo(moduleElf(['alias=virtio:d00000002v*', 'depends=virtio,virtio_ring', 'name=virtio_blk']));
  t.same(parsed.get('alias'), ['virtio:d00000002v*']);
  t.same(parsed.get('depends'), ['virtio,virtio_ring']);
  t.throws(() => readModinfo(Buffer.from('not an elf file at all, no')), /not a 64-bit/);
});

t.test('modules shipped compressed (.ko.xz, .ko.zst): our depmod reads them, PID 1 has the kernel decompress them', async (t) => {
  const dir = t.testdir({ kernel: { fs: {}, crypto: {} } });
  writeFileSync(join(dir, 'kernel/crypto/crc32c_generic.ko'), moduleElf(['alias=crypto-crc32c', 'alias=crc32c']));
  writeFileSync(join(dir, 'kernel/fs/ext4.ko'), moduleElf(['alias=fs-ext4', 'depends=mbcache', 'softdep=pre: crc32c']));
  writeFileSync(join(dir, 'kernel/fs/mbcache.ko'), moduleElf(['depends=']));
  execFileSync('xz', ['--check=crc32', join(dir, 'kernel/fs/ext4.ko')]);
  execFileSync('zstd', ['-q', '--rm', join(dir, 'kernel/fs/mbcache.ko')]);
  const { modules, missing } = resolveModules(dir, ['ext4']);
  t.same(missing, []);
  t.same(modules.map((m) => [m.name, m.path]), [['crc32c_generic', 'kernel/crypto/crc32c_generic.ko'], ['mbcache', 'kernel/fs/mbcache.ko.zst'], ['ext4', 'kernel/fs/ext4.ko.xz']], 'named without the suffix, found with it');
  t.same(modules.find((m) => m.name === 'ext4')?.aliases, ['fs-ext4'], '.modinfo read from the decompressed bytes');

  const { dep, alias, softdep } = depmodFiles(modules);
  writeFileSync(join(dir, 'modules.dep'), dep);
  writeFileSync(join(dir, 'modules.alias'), alias);
  writeFileSync(join(dir, 'modules.softdep'), softdep);
  writeFileSync(join(dir, 'modules.builtin'), '');
  const sys = fakeSys();
  await new ModuleLoader(sys, memoryLog(), dir).load('ext4');
  t.same(sys.trace, [`finit_module(${dir}/kernel/crypto/crc32c_generic.ko, )`, `finit_module(${dir}/kernel/fs/mbcache.ko.zst, , 4)`, `finit_module(${dir}/kernel/fs/ext4.ko.xz, , 4)`], 'MODULE_INIT_COMPRESSED_FILE for the compressed ones');
});
