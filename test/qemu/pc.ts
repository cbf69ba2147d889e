// The PC disk image booted as PCs boot it, on emulated PC hardware (q35, no
// virtio disk): UEFI firmware (OVMF) from a USB stick, with a USB keyboard
// and a screen; UEFI from a SATA disk; legacy BIOS (SeaBIOS) from NVMe. One
// image, one kernel, initramfs and command line for all of them. The users'
// checks are the users test's own.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildImage } from '../../build/image';
import { readManifest } from '../../build/manifest';
import { bootGuest, type BootOptions } from '../../build/qemu';
import { buildPcImage } from '../../build/pc-image';
import { ROOT } from '../../build/paths';
import { BOOT_MS, checkUsers, powerOff, until } from '../fixtures/users-checks';
import { writeUsersTree } from '../fixtures/users-tree';
import { Monitor, readPpm } from '../fixtures/monitor';

const mtype = (esp: string, path: string) => spawnSync('mtype', ['-i', esp, `::${path}`], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } }).stdout;

t.test('the PC image', async (t) => {
  const { path: manifestPath } = await buildImage({ arch: 'x64', out: join(ROOT, 'out'), platform: 'pc', kernel: 'debian' });
  const manifest = readManifest(manifestPath);
  t.match(manifest.kernel.package, /^linux-image-[\d.]+-\d+-amd64$/, "Debian's generic kernel, not the cloud one");
  for (const module of ['xhci_pci', 'ehci_pci', 'usb_storage', 'uas', 'usbhid', 'hid_generic', 'ahci', 'nvme', 'mmc_block', 'e1000e', 'r8169', 'ext4', 'crc32c_generic']) {
    t.ok(manifest.modules.included.includes(module), `the initramfs carries ${module}`);
  }
  t.ok(manifest.firmware.included.some((f) => f.startsWith('rtl_nic/')), "r8169's firmware is in the image");
  t.match(manifest.cmdline, /console=ttyS0,115200 console=tty0/, 'consoles on the serial line and the screen');

  const dir = t.testdir({ tree: {} });
  const disk = await buildPcImage(manifestPath, { usersDir: writeUsersTree(join(dir, 'tree')), usersSize: '128M', owners: {} });
  const table = JSON.parse(spawnSync('sfdisk', ['--json', disk], { encoding: 'utf8' }).stdout).partitiontable;
  t.match(table, { label: 'gpt', partitions: [{ name: 'nodeos-boot', type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', attrs: 'LegacyBIOSBootable' }, { name: 'nodeos-users' }] });

  // Both boot loaders on the ESP name the same kernel, initramfs and command line.
  const esp = join(dir, 'esp.img');
  spawnSync('dd', [`if=${disk}`, `of=${esp}`, 'bs=512', `skip=${table.partitions[0].start}`, `count=${table.partitions[0].size}`, 'status=none']);
  t.match(mtype(esp, '/loader/entries/nodeos.conf'), `options ${manifest.cmdline}\n`);
  t.match(mtype(esp, '/syslinux/syslinux.cfg'), `APPEND ${manifest.cmdline}\n`);
  t.match(mtype(esp, '/syslinux/syslinux.cfg'), 'LINUX /vmlinuz\n  INITRD /initramfs.cpio.zst');

  const boot = (t: Test, options: BootOptions) => {
    const guest = bootGuest(manifestPath, { pcDisk: disk, ...options });
    t.teardown(() => guest.child.kill('SIGKILL'));
    return guest;
  };
  const usersRunning = (guest: ReturnType<typeof bootGuest>) =>
    until<string[]>(guest, "(() => { const up = users().filter((u) => u.state === 'running').map((u) => u.name); return up.includes('bob') && up; })()");

  t.test('UEFI, from a USB stick, typed at on a USB keyboard, shown on the screen', async (t) => {
    const socket = join(dir, 'monitor.sock');
    const guest = boot(t, { firmware: 'uefi', bus: 'usb', monitor: socket, watchdog: true });
    const monitor = await Monitor.connect(socket);
    t.teardown(() => monitor.close());
    await guest.expect('users partition: /dev/sda2 (ext4, LABEL=nodeos-users, PARTLABEL=nodeos-users)', BOOT_MS);
    await guest.expect('nodeos> ', BOOT_MS);
    t.match(await guest.value("fs.realpathSync('/sys/block/sda')"), /\/usb\d+\//, 'the disk is on USB');
    await checkUsers(t, guest);
    await guest.seen(/net: eth0: bound 10\.0\.2\.15\/24/, BOOT_MS);
    t.match(await guest.value("fs.realpathSync('/sys/class/net/eth0/device/driver')"), /\/e1000e$/, 'the PC NIC has its driver');

    // The screen: a framebuffer console on tty1, with something on it.
    t.equal(await guest.value("fs.readFileSync('/sys/class/tty/console/active', 'utf8').trim()"), 'ttyS0 tty0', 'the kernel prints on both');
    t.match(await guest.value("fs.readFileSync('/proc/fb', 'utf8')"), /EFI VGA/, "UEFI's framebuffer carries the console");
    await monitor.command(`screendump ${join(dir, 'screen.ppm')}`);
    t.ok(readPpm(join(dir, 'screen.ppm')).colours > 1, 'the screen is not blank');

    // What the screen shows, as text: /dev/vcs1 is tty1's contents.
    const screen = "fs.readFileSync('/dev/vcs1', 'latin1').replace(/ +/g, ' ')";
    t.match(await guest.value(screen), /nodeos: boot: ready in \d+ ms/, "PID 1's messages are on the screen");

    // The keyboard: QEMU sends keys to the USB keyboard (the last one added); typed on tty1, seen on the screen and the serial line.
    t.match(await until(guest, "/QEMU USB Keyboard[^]*?Handlers=[^\\n]*kbd/.exec(fs.readFileSync('/proc/bus/input/devices', 'utf8'))?.[0]"), /usb/i, 'the USB keyboard is an input device');
    await monitor.type("'kb'+'d'\n");
    t.ok(await until(guest, `${screen}.includes("'kbd'")`), "the screen's REPL answers what was typed on the keyboard");
    await monitor.type('.poweroff\n');
    await guest.expect('console: tty1: poweroff', 60_000);
    await guest.expect('watchdog: disarmed', 120_000);
    await guest.expect('calling reboot(2) for poweroff', 120_000);
    t.same(await guest.exited, { code: 0, signal: null }, 'typed .poweroff powers the machine off');
    t.match(guest.output, /reboot: Power down/, 'by the kernel, not by the watchdog');
    t.notMatch(guest.output, /Kernel panic/);
  });

  t.test('UEFI, from a SATA disk; a hung PID 1 is reset by the watchdog', async (t) => {
    const guest = boot(t, { firmware: 'uefi', bus: 'sata', watchdog: true });
    await guest.expect('users partition: /dev/sda2', BOOT_MS);
    await guest.expect('nodeos> ', BOOT_MS);
    t.match(await guest.value("fs.realpathSync('/sys/block/sda')"), /\/ata\d+\//, 'the disk is on SATA');
    t.match(await usersRunning(guest), ['root', 'alice', 'bob'], "the users' inits run");
    t.match(guest.output, /watchdog: armed: 60 s without PID 1 resets the machine/);
    t.match(await guest.value("fs.readFileSync('/sys/class/watchdog/watchdog0/state', 'utf8').trim()"), 'active');
    // PID 1's event loop blocked from its own REPL: nothing pets the watchdog any more.
    guest.send('for (;;) {}\n');
    t.same(await guest.exited, { code: 0, signal: null }, 'the watchdog fired: QEMU powered the machine off');
    t.notMatch(guest.output, /calling reboot\(2\)|reboot: Power down|Kernel panic/, 'no shutdown ran: the hardware ended it');
  });

  t.test('legacy BIOS, from NVMe', async (t) => {
    const socket = join(dir, 'monitor-bios.sock');
    const guest = boot(t, { firmware: 'bios', bus: 'nvme', monitor: socket });
    const monitor = await Monitor.connect(socket);
    t.teardown(() => monitor.close());
    await guest.expect('users partition: /dev/nvme0n1p2', BOOT_MS);
    await guest.expect('nodeos> ', BOOT_MS);
    t.match(await usersRunning(guest), ['root', 'alice', 'bob'], "the users' inits run");
    t.equal(await guest.value("fs.readFileSync('/sys/class/tty/tty0/active', 'utf8').trim()"), 'tty1');
    await monitor.command(`screendump ${join(dir, 'screen-bios.ppm')}`);
    t.ok(readPpm(join(dir, 'screen-bios.ppm')).colours > 1, 'the text screen is not blank');
    await powerOff(t, guest);
    // The users partition, as written on the disk after three boots, is clean.
    const users = join(dir, 'users-partition.img');
    spawnSync('dd', [`if=${disk}`, `of=${users}`, 'bs=512', `skip=${table.partitions[1].start}`, 'status=none']);
    t.equal(spawnSync('e2fsck', ['-fn', users]).status, 0, 'e2fsck finds the users partition clean');
  });
});
