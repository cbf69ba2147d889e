// The `nodeos` command: build images, boot them, benchmark them.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { dirname, join } from 'node:path';
import { rmSync } from 'node:fs';
import { buildAddon } from './addon';
import { bootBenchmark } from '../bench/boot';
import { kernelBenchmark } from '../bench/kernels';
import { networkBenchmark } from '../bench/network';
import { pcBenchmark } from '../bench/pc';
import { containerBenchmark } from '../bench/container';
import { rpiBenchmark } from '../bench/rpi';
import { buildImage } from './image';
import { MANIFEST } from './manifest';
import { platformDir, platformInfo } from './platforms';
import { runInteractive, type DiskBus, type Firmware, type NetMode } from './qemu';
import { parseOwner, refusedFolders, usersImageWithDependencies, type Owner } from './users-image';
import { appUsersTree } from './app';
import { imageLogs } from './logs';
import type { PcImageOptions } from './pc-image';
import { progress } from './exec';
import { SD_IMAGE } from './sd-image';
import { passwordHashes } from './passwords';

type Options = NonNullable<ParseArgsConfig['options']>;

interface Command {
  usage: string;
  summary: string;
  options: Options;
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

const target: Options = {
  arch: { type: 'string', default: 'x64' },
  out: { type: 'string', default: 'out' },
  kernel: { type: 'string', default: 'debian' },
};
const platform: Options = {
  platform: { type: 'string', default: 'qemu' },
  users: { type: 'string' },
  'users-size': { type: 'string', default: '512M' },
  owner: { type: 'string', multiple: true },
  password: { type: 'string', multiple: true },
  registry: { type: 'string' },
  app: { type: 'string' },
  env: { type: 'string' },
};

/** `build --app` on the qemu platform: the appliance's users partition, beside the manifest. */
const APP_USERS_IMAGE = 'app-users.img';

const passwordsOf = (values: Record<string, unknown>) => passwordHashes((values.password as string[] | undefined) ?? []);
const boot: Options = {
  append: { type: 'string' },
  pc: { type: 'boolean', default: false },
  rpi: { type: 'boolean', default: false },
  firmware: { type: 'string', default: 'uefi' },
  bus: { type: 'string', default: 'virtio' },
  users: { type: 'string' },
  disk: { type: 'string', multiple: true },
  'no-reboot': { type: 'boolean', default: false },
  memory: { type: 'string', default: '1G' },
  net: { type: 'string', default: 'user' },
  forward: { type: 'string', multiple: true },
};

/** `run --pc` boots the PC platform's disk image, `run --rpi` the SD card as a Pi 3 B; otherwise QEMU loads the qemu platform's kernel and initramfs. */
const platformOf = (values: Record<string, unknown>) => (values.pc ? 'pc' : values.rpi ? 'rpi' : 'qemu');
const manifestOf = (values: Record<string, unknown>) => join(platformDir(String(values.out), String(values.arch), platformOf(values)), MANIFEST);

/** The users tree an artifact is written with: --users DIR, or the appliance --app PKG makes (removed with `done`). */
async function usersTree(values: Record<string, unknown>): Promise<{ dir?: string; owners: Record<string, Owner>; done(): void }> {
  const owners = Object.fromEntries(((values.owner as string[] | undefined) ?? []).map(parseOwner));
  if (!values.app) return { dir: values.users as string | undefined, owners, done: () => {} };
  if (values.users) throw new Error('--app and --users: an appliance\'s users partition is its app (add more users to the app\'s image with nodeos users-image)');
  const withRoot = ((values.password as string[] | undefined) ?? []).includes('root');
  const app = await appUsersTree(String(values.app), { envFile: values.env as string | undefined, registry: values.registry as string | undefined, withRoot });
  const { user, uid, gid } = app.settings;
  process.stderr.write(`nodeos: app: user ${user} (${uid}:${gid}) runs node ${app.command.join(' ')}${app.settings.health ? `, health ${app.settings.health.url ?? app.settings.health.command!.join(' ')}` : ''}\n`);
  return { dir: app.dir, owners: { ...owners, ...app.owners }, done: () => rmSync(dirname(app.dir), { recursive: true, force: true }) };
}

async function build(values: Record<string, unknown>): Promise<string> {
  const kernel = String(values.kernel);
  if (kernel !== 'debian' && kernel !== 'custom') throw new Error(`--kernel ${kernel}: expected debian or custom`);
  const platformName = String(values.platform ?? 'qemu');
  const platform = platformInfo(platformName, String(values.arch));
  const users = await usersTree(values);
  try {
    const options = { usersDir: users.dir, usersSize: String(values['users-size']), owners: users.owners, passwords: await passwordsOf(values), registry: values.registry as string | undefined };
    if (platform.kind === 'container') {
      const artifact = await progress(`writing the ${platformName} image`, () => platform.write(String(values.arch), platformDir(String(values.out), String(values.arch), platformName), options));
      process.stderr.write(`nodeos: wrote ${artifact}\n`);
      return artifact;
    }
    const { path, built } = await buildImage({ arch: String(values.arch), out: String(values.out), platform: platformName, kernel });
    process.stderr.write(`nodeos: ${built ? 'built' : 'up to date:'} ${path}\n`);
    // A platform without an artifact of its own (qemu) gets the appliance's users partition beside its manifest, for run --users.
    const write = platform.write ?? (values.app ? (manifest: string) => appUsersImage(manifest, options, String(values.arch)) : undefined);
    if (write) {
      const artifact = await progress(`writing the ${platformName} image`, () => write(path, options));
      process.stderr.write(`nodeos: wrote ${artifact}\n`);
    }
    return path;
  } finally {
    users.done();
  }
}

/** OUT/ARCH/app-users.img: the appliance's users partition, to boot with run --users. */
async function appUsersImage(manifest: string, options: PcImageOptions, arch: string): Promise<string> {
  const image = join(dirname(manifest), APP_USERS_IMAGE);
  await usersImageWithDependencies(options.usersDir!, image, { size: options.usersSize, label: 'nodeos-users', owners: options.owners, passwords: options.passwords, arch, registry: options.registry });
  return image;
}

const bootOptions = (values: Record<string, unknown>) => ({
  pcDisk: values.pc ? join(platformDir(String(values.out), String(values.arch), 'pc'), 'disk.img') : undefined,
  sdCard: values.rpi ? join(platformDir(String(values.out), String(values.arch), 'rpi'), SD_IMAGE) : undefined,
  firmware: String(values.firmware) as Firmware,
  bus: String(values.bus) as DiskBus,
  append: values.append as string | undefined,
  users: values.users as string | undefined,
  disks: (values.disk as string[] | undefined) ?? [],
  noReboot: Boolean(values['no-reboot']),
  memory: String(values.memory),
  net: String(values.net) as NetMode,
  forwards: (values.forward as string[] | undefined) ?? [],
});

const COMMANDS: Record<string, Command> = {
  build: {
    usage: 'nodeos build [--arch x64|arm64] [--out out] [--kernel debian|custom] [--platform qemu|pc|rpi|oci] [--users DIR] [--users-size 512M] [--owner NAME=UID:GID …] [--password NAME …] [--app PKG [--env FILE]] [--registry URL]',
    summary: "Build the kernel, initramfs and OUT/ARCH/manifest.json (needs npm run build first). --kernel custom builds a kernel from Debian's linux-source with the initramfs embedded (10+ minutes the first time, cached). --platform pc builds with Debian's generic kernel and PC drivers into OUT/ARCH/pc/ and writes OUT/ARCH/pc/disk.img (GPT: ESP with systemd-boot for UEFI and syslinux for BIOS, users partition from DIR). --arch arm64 --platform rpi writes OUT/arm64/rpi/sdcard.img for Raspberry Pis (MBR: FAT32 boot partition with the Pi firmware, ext4 users partition from DIR). --platform oci writes OUT/ARCH/nodeos-oci.tar, a container image for docker/podman load (--users DIR: a third layer with /home). --app PKG (a folder with package.json, or an npm spec) makes the users partition an appliance: one user (app, uid 1000, or as its package.json's \"nodeos\" key says) whose init runs the package with node, its dependencies installed for the target; --env FILE adds KEY=VALUE lines to its environment; on the qemu platform it is written as OUT/ARCH/app-users.img for run --users.",
    options: { ...target, ...platform },
    run: async (values) => (await build(values), 0),
  },
  run: {
    usage: 'nodeos run [--arch x64|arm64] [--out out] [--append "WORDS"] [--no-reboot] [--memory 1G] [--users IMG] [--disk IMG …] [--pc [--firmware uefi|bios] [--bus virtio|usb|sata|nvme]] [--rpi] [--net user|none|isolated] [--forward HOSTPORT:GUESTPORT …]',
    summary: 'Boot the built image in QEMU on this terminal (Ctrl-A X quits QEMU). Exits when the guest powers off, or reboots with --no-reboot. --pc boots OUT/ARCH/pc/disk.img as a PC: UEFI firmware (OVMF) or legacy BIOS (SeaBIOS), the disk on a virtio, USB (a stick), SATA or NVMe controller, an e1000e NIC. --rpi (--arch arm64) boots OUT/arm64/rpi/sdcard.img as a Raspberry Pi 3 B (its kernel, device tree, initramfs and cmdline.txt from the card\'s boot partition, the card in the SD slot, the GPIO UART on this terminal, no NIC). The guest\'s NIC is on QEMU\'s user network (the host is 10.0.2.2); --forward makes 127.0.0.1:HOSTPORT on the host reach GUESTPORT in the guest.',
    options: { ...target, ...boot },
    run: (values) => runInteractive(manifestOf(values), bootOptions(values)),
  },
  start: {
    usage: 'nodeos start [--arch x64|arm64] [--out out] [--kernel debian|custom] [run\'s options]',
    summary: 'Build the image when it is stale (with --pc, the disk image too; with --rpi, the SD card), then run it.',
    options: { ...target, ...boot },
    // --pc needs the disk image too (its users partition empty: use build for more).
    run: async (values) => runInteractive(await build({ ...values, platform: platformOf(values), users: undefined, 'users-size': '512M' }), bootOptions(values)),
  },
  'users-image': {
    usage: 'nodeos users-image DIR OUT.img [--size 256M] [--label nodeos-users] [--owner NAME=UID:GID …] [--password NAME …] [--arch x64] [--registry URL]',
    summary: 'Make an ext4 users partition from DIR (each top-level folder a user), without root. --owner sets a folder\'s owner, recursively. --password NAME sets NAME\'s login password (asked twice on a terminal, else one line per name from stdin; stored as a salted scrypt hash). A home with a package.json (and lockfile) gets its dependencies installed for the image (npm ci --omit=dev, no install scripts); DIR itself is not changed; --registry is npm\'s for that install.',
    options: {
      arch: target.arch,
      registry: { type: 'string' },
      size: { type: 'string', default: '256M' },
      label: { type: 'string', default: 'nodeos-users' },
      owner: { type: 'string', multiple: true },
      password: { type: 'string', multiple: true },
    },
    run: async (values, positionals) => {
      if (positionals.length !== 2) throw new Error('users-image: expected DIR and OUT.img');
      const owners = Object.fromEntries(((values.owner as string[] | undefined) ?? []).map(parseOwner));
      const passwords = await passwordsOf(values);
      for (const refusal of refusedFolders(positionals[0], owners)) process.stderr.write(`nodeos: warning: PID 1 will refuse ${refusal}\n`);
      await usersImageWithDependencies(positionals[0], positionals[1], { size: String(values.size), label: String(values.label), owners, passwords, arch: String(values.arch), registry: values.registry as string | undefined });
      process.stderr.write(`nodeos: wrote ${positionals[1]}\n`);
      return 0;
    },
  },
  logs: {
    usage: 'nodeos logs IMAGE [NAME] [--lines 40]',
    summary: "Print the last lines of PID 1's log (or of user NAME's init.log) kept on the users partition of IMAGE: a users image, or a whole disk image (the PC image, the Pi's SD card). Read with debugfs, without mounting.",
    options: { lines: { type: 'string', default: '40' } },
    run: async (values, positionals) => {
      if (positionals.length < 1 || positionals.length > 2) throw new Error('logs: expected IMAGE and at most one NAME');
      process.stdout.write(imageLogs(positionals[0], positionals[1], Number(values.lines)));
      return 0;
    },
  },
  addon: {
    usage: 'nodeos addon [--arch x64|arm64]',
    summary: "Build the syscall addon against the pinned Node's headers into dist/.",
    options: { arch: target.arch },
    run: async (values) => (await buildAddon(String(values.arch)), 0),
  },
  bench: {
    usage: 'nodeos bench [--arch x64|arm64] [--out out] [--runs 3] [--custom out-custom] [--pc] [--oci] [--rpi]',
    summary:
      'Boot N times; print JSON: Run /init → ready vs a floor image, and initramfs size vs node alone; link up → lease, ready with and without a NIC, and a user\'s npm install in the guest. With --custom DIR, also the custom kernel built there (nodeos build --kernel custom --out DIR) against Debian\'s: artifact sizes and kernel start → ready. With --pc, also the PC image against the QEMU one: sizes, and boot to ready under UEFI from a USB stick and from virtio. With --oci, also the container image: its layers\' sizes against node alone, and under runc start → ready against `node -e` in the same container, and stop after SIGTERM. With --rpi (--arch arm64), also the SD card on an emulated Raspberry Pi 3 B: Run /init → ready against the floor, the card\'s partitions, and its initramfs as gzip against zstd.',
    options: { ...target, runs: { type: 'string', default: '3' }, custom: { type: 'string' }, pc: { type: 'boolean', default: false }, oci: { type: 'boolean', default: false }, rpi: { type: 'boolean', default: false } },
    run: async (values) => {
      const manifest = await build(values);
      const runs = Number(values.runs);
      const report: Record<string, unknown> = { boot: await bootBenchmark(manifest, runs, String(values.out)), network: await networkBenchmark(manifest, runs) };
      if (values.custom) report.kernels = await kernelBenchmark(manifest, await build({ ...values, out: values.custom, kernel: 'custom' }), runs);
      if (values.rpi) report.rpi = await rpiBenchmark(await build({ ...values, platform: 'rpi', users: undefined, 'users-size': '512M' }), runs);
      if (values.oci) report.oci = await containerBenchmark(String(values.arch), platformDir(String(values.out), String(values.arch), 'oci'), runs);
      if (values.pc) report.pc = await pcBenchmark(manifest, await build({ ...values, platform: 'pc', 'users-size': '512M' }), runs);
      console.log(JSON.stringify(report, null, 2));
      return 0;
    },
  },
};

function help(): string {
  const lines = Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.summary}`);
  return `usage: nodeos <command> [options]   (nodeos <command> --help)\n\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help());
    return name ? 0 : 1;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`nodeos: unknown command ${name}\n\n${help()}`);
    return 1;
  }
  const { values, positionals } = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  if (values.help) {
    process.stdout.write(`usage: ${command.usage}\n\n${command.summary}\n`);
    return 0;
  }
  return command.run(values, positionals);
}

