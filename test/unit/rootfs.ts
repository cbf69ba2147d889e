// The rootfs layer's pure parts: the kernel config fragment and the PC image's layout.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { FRAGMENT, parseFragment, unmetOptions } from '../../kernel/custom';
import { ESP_TYPE, LINUX_TYPE, loaderFiles, partitionScript } from '../../build/pc-image';
import { pcDiskArgs } from '../../build/qemu';
import { kernelPlatform, PLATFORMS, platformDir } from '../../build/platforms';
import { defaultCmdline } from '../../build/image';
import { ARCHES } from '../../build/versions';
import { MODULE_CLASSES } from '../../build/modules';
import { NPM_PREFIX, unshippedNpmFile } from '../../build/npm';

t.test('the fragment: what NodeOS needs is asked for, modules are off', async (t) => {
  const options = parseFragment(readFileSync(FRAGMENT, 'utf8'));
  for (const name of ['EFI_STUB', 'BLK_DEV_INITRD', 'DEVTMPFS', 'VIRTIO_BLK', 'SATA_AHCI', 'BLK_DEV_NVME', 'USB_STORAGE', 'USB_UAS', 'MMC_SDHCI_PCI', 'EXT4_FS', 'VFAT_FS', 'SQUASHFS', 'CGROUP_PIDS', 'MEMCG', 'PID_NS', 'SERIAL_8250_CONSOLE', 'FRAMEBUFFER_CONSOLE', 'BINFMT_SCRIPT', 'UNIX', 'MULTIUSER',
    'VIRTIO_NET', 'E1000', 'E1000E', 'IGB', 'R8169', 'USB_NET_CDCETHER', 'USB_RTL8152', 'USB_NET_AX8817X', 'USB_NET_SMSC95XX', 'USB_LAN78XX', 'RTC_HCTOSYS']) {
    t.equal(options.get(`CONFIG_${name}`), 'y', name);
  }
  t.equal(options.get('CONFIG_MODULES'), 'n');
  t.notOk(options.has('CONFIG_INITRAMFS_SOURCE'), 'set by the build, not the fragment');
});

t.test('unmet options are found in the final .config', async (t) => {
  const fragment = parseFragment('CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=n\nCONFIG_D="x"\n# comment\n');
  t.same(unmetOptions(fragment, 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_D="y"\n'), ['CONFIG_B=y (got n)', 'CONFIG_D="x" (got "y")']);
  t.same(unmetOptions(fragment, 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_D="x"\n'), []);
});

t.test('the PC disk: ESP (BIOS-bootable too) then users partition, 1 MiB aligned', async (t) => {
  t.equal(
    partitionScript(143360, 1048576),
    `label: gpt\nstart=2048, size=143360, type=${ESP_TYPE}, name="nodeos-boot", attrs="LegacyBIOSBootable"\nstart=145408, size=1048576, type=${LINUX_TYPE}, name="nodeos-users"\n`,
  );
});

t.test('systemd-boot and syslinux boot the one entry at once, with the same command line', async (t) => {
  t.same(loaderFiles('console=ttyS0 quiet', 'initramfs.cpio.gz'), {
    'loader/loader.conf': 'default nodeos.conf\ntimeout 0\neditor no\n',
    'loader/entries/nodeos.conf': 'title NodeOS\nlinux /vmlinuz\ninitrd /initramfs.cpio.gz\noptions console=ttyS0 quiet\n',
    'syslinux/syslinux.cfg': 'DEFAULT nodeos\nPROMPT 0\nTIMEOUT 0\nLABEL nodeos\n  LINUX /vmlinuz\n  INITRD /initramfs.cpio.gz\n  APPEND console=ttyS0 quiet\n',
  });
  const embedded = loaderFiles('console=ttyS0', undefined);
  t.notMatch(embedded['loader/entries/nodeos.conf'], /initrd/, 'an embedded initramfs needs no initrd line');
  t.notMatch(embedded['syslinux/syslinux.cfg'], /INITRD/);
});

t.test('platforms: every row is complete, and the PC one is for hardware', async (t) => {
  for (const [name, platform] of Object.entries(PLATFORMS)) {
    if (platform.kind === 'container') continue;
    for (const arch of platform.arches) t.ok(ARCHES[arch].kernels[platform.kernel], `${name}: ${arch} has a ${platform.kernel} kernel`);
    for (const c of platform.modules) t.ok(MODULE_CLASSES[c].length, `${name}: module class ${c}`);
  }
  const [qemu, pc] = [kernelPlatform('qemu'), kernelPlatform('pc')];
  t.equal(defaultCmdline('x64', qemu), 'console=ttyS0 panic=1 quiet MALLOC_ARENA_MAX=1');
  t.equal(defaultCmdline('x64', pc), 'console=ttyS0,115200 console=tty0 panic=1 quiet MALLOC_ARENA_MAX=1', 'the screen last: /dev/console is the screen');
  t.equal(pc.kernel, 'hardware');
  t.ok(pc.modules.includes('usb') && pc.modules.includes('keyboards'));
  t.throws(() => kernelPlatform('oci'), /--platform oci runs on a container engine's kernel/);
  t.equal(platformDir('out', 'x64', 'qemu'), `${process.cwd()}/out/x64`);
  t.equal(platformDir('out', 'x64', 'pc'), `${process.cwd()}/out/x64/pc`);
  t.throws(() => platformDir('out', 'x64', 'toaster'), /unsupported --platform toaster \(supported: qemu, pc, rpi, oci\)/);
});

t.test('a PC disk on each controller', async (t) => {
  const drive = ['-drive', 'file=d.img,format=raw,if=none,id=disk0'];
  t.same(pcDiskArgs('d.img', 'usb'), [...drive, '-device', 'usb-storage,bus=xhci.0,drive=disk0']);
  t.same(pcDiskArgs('d.img', 'sata'), [...drive, '-device', 'ide-hd,bus=ide.0,drive=disk0']);
  t.same(pcDiskArgs('d.img', 'nvme'), [...drive, '-device', 'nvme,serial=nodeos0,drive=disk0']);
  t.same(pcDiskArgs('d.img', 'virtio'), [...drive, '-device', 'virtio-blk-pci,drive=disk0']);
  t.throws(() => pcDiskArgs('d.img', 'scsi' as never), /--bus scsi: expected virtio, usb, sata, nvme/);
});

t.test("npm's files the image leaves out: what only man or a browser shows, READMEs, Python and packages npm never runs here; never npm's code or a license", async (t) => {
  const npm = (path: string) => `${NPM_PREFIX}/${path}`;
  for (const path of ['man/man1/npm-install.1', 'docs/output/commands/npm-install.html', 'README.md', 'node_modules/libnpmexec/README.md', 'node_modules/util-deprecate/History.md', 'node_modules/x/CHANGELOG.markdown',
    'node_modules/node-gyp/gyp/pylib/gyp/input.py', 'node_modules/iconv-lite', 'node_modules/iconv-lite/lib/index.js', 'node_modules/safer-buffer/safer.js', 'node_modules/undici/index.js']) t.ok(unshippedNpmFile(npm(path)), path);
  for (const path of ['bin/npm-cli.js', 'lib/commands/help.js', 'docs/content/commands/npm-install.md', 'node_modules/glob/LICENSE.md', 'node_modules/ms/license.md', 'node_modules/x/COPYING.md', 'package.json', 'node_modules/markdown-thing/index.js',
    'node_modules/node-gyp/lib/find-python.js', 'node_modules/undici-types/index.js', 'node_modules/minipass-fetch/lib/body.js']) t.notOk(unshippedNpmFile(npm(path)), path);
});
