// The rootfs layer's pure parts: the kernel config fragment and the PC image's layout.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { FRAGMENT, parseFragment, unmetOptions } from '../../kernel/custom';
import { ESP_TYPE, LINUX_TYPE, loaderFiles, partitionScript } from '../../build/pc-image';

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

t.test('the PC disk: ESP then users partition, 1 MiB aligned', async (t) => {
  t.equal(
    partitionScript(143360, 1048576),
    `label: gpt\nstart=2048, size=143360, type=${ESP_TYPE}, name="nodeos-boot"\nstart=145408, size=1048576, type=${LINUX_TYPE}, name="nodeos-users"\n`,
  );
});

t.test('systemd-boot boots the one entry at once, with the command line', async (t) => {
  t.same(loaderFiles('console=ttyS0 quiet', 'initramfs.cpio.gz'), {
    'loader/loader.conf': 'default nodeos.conf\ntimeout 0\neditor no\n',
    'loader/entries/nodeos.conf': 'title NodeOS\nlinux /vmlinuz\ninitrd /initramfs.cpio.gz\noptions console=ttyS0 quiet\n',
  });
  t.notMatch(loaderFiles('console=ttyS0', undefined)['loader/entries/nodeos.conf'], /initrd/, 'an embedded initramfs needs no initrd line');
});
