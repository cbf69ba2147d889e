// Boot benchmark: issue 12's eight figures, each against its target. Times
// are ratios against floor images measured in the same run (same kernel, same
// node, our own initramfs with only /init replaced), so they hold on any
// machine: the *marker floor* (/init writes one line to /dev/kmsg) and the
// *REPL floor* (/init only starts node's REPL). Guest times are the kernel's
// own timestamps ([seconds] on each console line); the one thing that has
// none, a prompt, is timed by its arrival on the host against the arrival
// of "Run /init" in the same boot, for ours and the floor's alike.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { INITRAMFS_FILE, nodeInputs, writeInitramfs, type Compression } from '../build/image';
import { readManifest } from '../build/manifest';
import { BUNDLE, ROOT } from '../build/paths';
import { bootGuest, type BootOptions } from '../build/qemu';
import type { Session } from '../build/session';
import { buildUsersImage } from '../build/users-image';
import { archInfo } from '../build/versions';
import { initramfsEntries } from '../initramfs/layout';
import { kernelTimestamps, median, ms } from './timestamps';

const FLOORS = {
  // Its line says node's own time (from its start) as PID 1's ready line does, for T1's split.
  marker: `#!/bin/node\nrequire('fs').writeFileSync('/dev/kmsg', \`floor: ready in \${Math.round(process.uptime() * 1000)} ms\\n\`);\nsetInterval(() => {}, 1 << 30);\n`,
  repl: `#!/bin/node\nrequire('repl').start('floor> ');\n`,
};

export const TARGETS = {
  /** T1: Run /init → ready, no users partition, against the marker floor. */
  readyRatio: 1.2,
  /** T2: Run /init → the console's prompt, against the REPL floor. */
  promptRatio: 1.1,
  /** T3: Run /init → every user's init running (3 users), against the marker floor. */
  usersRatio: 2.5,
  /** T4: the compressed initramfs, and its bytes over the floor's (node + libraries) compressed the same way. */
  imageBytes: 44_000_000,
  overFloorBytes: 2 << 20,
  /** T5: PID 1's idle RSS against `node -e` with a timer. */
  idleRssRatio: 1.2,
  /** T6: 10 000 orphans: the last reaped at most this long after the last exit. */
  orphansReapedMs: 1000,
  /** T7: power-off request → reboot(2), with 100 processes that end on SIGTERM. */
  poweroffMs: 1000,
  /** T8: `npm run build` + `nodeos build` after a change to PID 1. */
  rebuildMs: 5000,
};

const TIMEOUT_MS = 300_000;
const ORPHANS = 10_000;
const SLEEPERS = 100;
const USERS = ['root', 'alice', 'bob'] as const;
const UIDS: Record<(typeof USERS)[number], number> = { root: 0, alice: 1000, bob: 1001 };
const KERNEL_LINE = (marker: string) => new RegExp(`\\[\\s*([\\d.]+)\\] ${marker}`);
const RUN_INIT = 'Run \\/init as init process';

/** The floor image: our initramfs's node and libraries, /init replaced; written once per content. */
async function floorInitramfs(manifestPath: string, floor: keyof typeof FLOORS, compression: Compression = 'gzip'): Promise<string> {
  const node = await nodeInputs(readManifest(manifestPath).arch);
  const path = join(dirname(manifestPath), `floor-${floor}-${INITRAMFS_FILE[compression]}`);
  await writeInitramfs([initramfsEntries({ node: node.node, libs: node.libs, boot: Buffer.from(FLOORS[floor]), init: Buffer.alloc(0) })], path, compression);
  return path;
}

/** Seconds (guest clock) from "Run /init" to the marker line, on one boot. */
async function untilMarker(manifestPath: string, marker: string, boot: BootOptions): Promise<number> {
  const [start, end] = await kernelTimestamps(manifestPath, [RUN_INIT, marker], TIMEOUT_MS, boot);
  return end - start;
}

/** Run /init → ready against the marker floor (the emulated Pi's figure too). */
export async function readyAgainstFloor(manifestPath: string, runs: number, boot: BootOptions = {}) {
  const floorPath = await floorInitramfs(manifestPath, 'marker');
  const nodeos: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < runs; i++) {
    nodeos.push(await untilMarker(manifestPath, 'nodeos: boot: ready in', boot));
    floor.push(await untilMarker(manifestPath, 'floor: ready', { ...boot, initramfs: floorPath }));
  }
  return against(nodeos.map(ms), floor.map(ms), TARGETS.readyRatio);
}

/** Medians, their ratio, and whether it meets the target. */
function against(nodeos: number[], floor: number[], target: number) {
  const ratio = Number((median(nodeos) / median(floor)).toFixed(3));
  return { nodeosMs: median(nodeos), floorMs: median(floor), ratio, target, met: ratio <= target, nodeosSamples: nodeos, floorSamples: floor };
}

/** Host ms between the arrival of two patterns on the console (for lines without the kernel's timestamp). */
function arrivals(session: Session, patterns: readonly RegExp[]): Promise<number[]> {
  const times: number[] = [];
  return new Promise((resolve, reject) => {
    const check = () => {
      while (times.length < patterns.length && patterns[times.length].test(session.output)) times.push(performance.now());
      if (times.length === patterns.length) {
        stop();
        resolve(times);
      }
    };
    const stop = session.onOutput(check);
    void session.exited.then(() => reject(new Error(`exited before ${patterns[times.length]}; output ends:\n${session.output.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`no ${patterns[times.length]} in ${TIMEOUT_MS} ms`)), TIMEOUT_MS).unref();
  });
}

// The kernel prints our info lines with its timestamps; without users the partition is not waited for.
const BOOT_APPEND = 'loglevel=7 printk.time=1';
const NO_WAIT = 'nodeos.rootwait=0';

async function withGuest<T>(manifestPath: string, options: BootOptions, run: (guest: Session) => Promise<T>): Promise<T> {
  const guest = bootGuest(manifestPath, { ...options, append: [BOOT_APPEND, options.append].filter(Boolean).join(' ') });
  try {
    return await run(guest);
  } finally {
    guest.child.kill('SIGKILL');
    await guest.exited;
  }
}

const kernelTime = async (guest: Session, marker: string) => Number((await guest.expect(KERNEL_LINE(marker), TIMEOUT_MS))[1]);

/**
 * Host ms from typing the first line at a prompt to its answer: PID 1 loads
 * node:repl at the first key, so T2's prompt comes with this beside it.
 */
async function firstAnswer(guest: Session): Promise<number> {
  const from = guest.output.length;
  const start = performance.now();
  guest.send('6 * 7\r');
  await new Promise<void>((resolve, reject) => {
    const stop = guest.onOutput(() => guest.output.includes('42', from) && (stop(), resolve()));
    setTimeout(() => (stop(), reject(new Error(`no answer to the first line in ${TIMEOUT_MS} ms`))), TIMEOUT_MS).unref();
  });
  return Math.round(performance.now() - start);
}

/** The marker floor: Run /init → its line, and node's own time (since its start) when it wrote it. */
async function markerFloor(manifestPath: string, initramfs: string) {
  return withGuest(manifestPath, { initramfs, append: NO_WAIT }, async (guest) => {
    const runInit = await kernelTime(guest, RUN_INIT);
    const [, at, nodeMs] = await guest.expect(KERNEL_LINE('floor: ready in (\\d+) ms'), TIMEOUT_MS);
    return { markerMs: ms(Number(at) - runInit), nodeMs: Number(nodeMs) };
  });
}

/**
 * T1 and T2 on one boot without users: kernel time to ready, host time to the prompt and to the first answer; and the
 * initramfs's unpacking. PID 1's ready line splits its own time: node and its modules (to main's first line), then the boot work.
 */
async function bootWithoutUsers(manifestPath: string, initramfs?: string) {
  return withGuest(manifestPath, { initramfs, append: NO_WAIT }, async (guest) => {
    const prompt = arrivals(guest, [new RegExp(RUN_INIT), /nodeos> /]);
    const unpack = [await kernelTime(guest, 'Trying to unpack rootfs image as initramfs'), await kernelTime(guest, 'Freeing initrd memory')];
    const runInit = await kernelTime(guest, RUN_INIT);
    const [, ready, readyMs, modulesMs] = await guest.expect(KERNEL_LINE("nodeos: boot: ready in (\\d+) ms \\(node and PID 1's modules: (\\d+) ms\\)"), TIMEOUT_MS);
    const [promptStart, promptEnd] = await prompt;
    return {
      readyMs: ms(Number(ready) - runInit),
      modulesMs: Number(modulesMs),
      bootWorkMs: Number(readyMs) - Number(modulesMs),
      promptMs: Math.round(promptEnd - promptStart),
      answerMs: await firstAnswer(guest),
      unpackMs: ms(unpack[1] - unpack[0]),
    };
  });
}

async function replFloorPrompt(manifestPath: string, initramfs: string): Promise<{ promptMs: number; answerMs: number }> {
  return withGuest(manifestPath, { initramfs, append: NO_WAIT }, async (guest) => {
    const [start, end] = await arrivals(guest, [new RegExp(RUN_INIT), /floor> /]);
    return { promptMs: Math.round(end - start), answerMs: await firstAnswer(guest) };
  });
}

// T5 is PID 1 idle, as on a machine nobody types at (its console's REPL loads at the first key): root's init measures
// it once every init runs and the boot's aftermath (winston, the network) has settled, before the bench types anything,
// and tells the kernel log. Beside PID 1 and `node -e` with a timer: node's own REPL as `node` starts it (terminal
// mode, the global context), after three lines typed into it: what serving a REPL costs by itself.
const IDLE_RSS_LINE = /bench: idle rss (\{.*\})/;
const ROOT_MEASURES = `(async () => {
  const fs = require('fs');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  while (!${JSON.stringify(USERS)}.every((u) => fs.existsSync('/home/' + u + '/running'))) await sleep(200);
  await sleep(4000);
  const status = (pid, key) => Number(new RegExp(key + ':\\\\s+(\\\\d+)').exec(fs.readFileSync('/proc/' + pid + '/status', 'utf8'))[1]);
  const rss = (pid) => status(pid, 'VmRSS');
  const { spawn } = require('child_process');
  const node = spawn('/bin/node', ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  const repl = spawn('/bin/node', ['-e', "require('repl').start({ prompt: '> ', terminal: true, useColors: true, useGlobal: true })"], { stdio: ['pipe', 'ignore', 'ignore'] });
  for (const line of ['1 + 1', "fs.readdirSync('/').length", '[1, 2, 3].map((x) => x * 2)']) {
    await sleep(1000);
    repl.stdin.write(line + '\\r');
  }
  await sleep(6000);
  const result = { pid1Kb: rss(1), nodeKb: rss(node.pid), replKb: rss(repl.pid), pid1AnonKb: status(1, 'RssAnon'), nodeAnonKb: status(node.pid, 'RssAnon') };
  for (const child of [node, repl]) child.kill('SIGKILL');
  fs.writeFileSync('/dev/kmsg', '<5>bench: idle rss ' + JSON.stringify(result) + '\\n');
})();
`;

/** A users partition: root, alice and bob, whose inits note when they run; root's home has the process maker. */
function usersImage(manifestPath: string, arch: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodeos-bench-users-'));
  const image = join(dirname(manifestPath), 'bench-users.img');
  try {
    for (const name of USERS) {
      const home = join(dir, name);
      mkdirSync(home);
      // /proc/uptime is the clock the kernel's timestamps are on.
      writeFileSync(join(home, 'init'), `#!/usr/bin/env node\nrequire('fs').writeFileSync(process.env.HOME + '/running', require('fs').readFileSync('/proc/uptime', 'utf8').split(' ')[0]);\nsetInterval(() => {}, 1 << 30);\n${name === 'root' ? ROOT_MEASURES : ''}`);
      chmodSync(join(home, 'init'), 0o755);
    }
    execFileSync(`${archInfo(arch).triplet}-gcc`, ['-static', '-O2', '-o', join(dir, 'root', 'procs'), join(ROOT, 'bench', 'procs.c')]);
    for (const name of USERS) for (const path of [join(dir, name), join(dir, name, 'init')]) chownSync(path, UIDS[name], UIDS[name]);
    buildUsersImage(dir, image, { size: '64M', label: 'nodeos-users', owners: {} });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return image;
}

// PID 1's children are read from /proc/1/task/1/children (zombies included) while the orphans come and go: they are
// reaped when no child is left that was not there before; a 10 ms timer's worst lateness is how long the REPL (PID 1's
// event loop) could not answer.
const GUEST_ORPHANS = `(async () => {
  const fs = require('fs');
  const children = () => fs.readFileSync('/proc/1/task/1/children', 'utf8').trim().split(/\\s+/).filter(Boolean);
  const before = new Set(children());
  const newChildren = () => children().filter((pid) => !before.has(pid)).length;
  let maxLagMs = 0, last = performance.now();
  const lag = setInterval(() => { const now = performance.now(); maxLagMs = Math.max(maxLagMs, now - last - 10); last = now; }, 10);
  const maker = require('child_process').spawn('/home/root/procs', ['orphans', '${ORPHANS}'], { stdio: 'ignore' });
  const code = await new Promise((r) => maker.on('exit', r));
  const lastExit = performance.now();
  while (newChildren() > 0) await new Promise((r) => setTimeout(r, 2));
  const reapedMs = performance.now() - lastExit;
  clearInterval(lag);
  // Any zombie left on the machine, named with its parent: the one seen once was not PID 1's.
  const zombies = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).map((p) => { try { return fs.readFileSync('/proc/' + p + '/status', 'utf8'); } catch { return ''; } })
    .filter((status) => /^State:\\s+Z/m.test(status)).map((status) => ['Name', 'Pid', 'PPid', 'NSpid'].map((key) => new RegExp('^' + key + ':\\s+(.*)$', 'm').exec(status)?.[1]).join(' '));
  return { code, reapedMs: Math.round(reapedMs), maxLagMs: Math.round(maxLagMs), zombies };
})()`;

const GUEST_SLEEPERS = `new Promise((r) => require('child_process').spawn('/home/root/procs', ['sleepers', '${SLEEPERS}'], { stdio: 'ignore' }).on('exit', r))`;

/** T3, T5, T6, T7 on one boot with three users. */
async function bootWithUsers(manifestPath: string, users: string) {
  return withGuest(manifestPath, { users }, async (guest) => {
    const runInit = await kernelTime(guest, RUN_INIT);
    const found = await kernelTime(guest, 'nodeos: users: users partition: ');
    const switched = await kernelTime(guest, 'nodeos: switch-root: switched root');
    const ready = await kernelTime(guest, 'nodeos: boot: ready in');
    await guest.expect('nodeos> ', TIMEOUT_MS);
    const rss = JSON.parse((await guest.expect(IDLE_RSS_LINE, TIMEOUT_MS))[1]) as { pid1Kb: number; nodeKb: number; replKb: number; pid1AnonKb: number; nodeAnonKb: number };
    let running: Record<string, number> = {};
    for (let tries = 0; Object.keys(running).length < USERS.length && tries < 600; tries++) {
      running = await guest.value<Record<string, number>>(`Object.fromEntries(${JSON.stringify(USERS)}.filter((u) => fs.existsSync('/home/' + u + '/running')).map((u) => [u, Number(fs.readFileSync('/home/' + u + '/running', 'utf8'))]))`);
      if (Object.keys(running).length < USERS.length) await new Promise((r) => setTimeout(r, 500));
    }
    const lastRunning = Math.max(...Object.values(running));
    const orphans = await guest.value<{ code: number; reapedMs: number; maxLagMs: number; zombies: string[] }>(GUEST_ORPHANS, TIMEOUT_MS);
    await guest.value(GUEST_SLEEPERS, TIMEOUT_MS);
    guest.send('.poweroff\n');
    const requested = await kernelTime(guest, 'nodeos: shutdown: poweroff requested');
    const rebooted = await kernelTime(guest, 'reboot: Power down');
    return {
      usersMs: ms(lastRunning - runInit),
      split: {
        initramfsStageMs: ms(found - runInit),
        switchRootMs: ms(switched - found),
        systemStageMs: ms(ready - switched),
        launchMs: Object.fromEntries(Object.entries(running).map(([name, at]) => [name, ms(at - ready)])),
      },
      rss,
      orphans,
      poweroffMs: ms(rebooted - requested),
    };
  });
}

/** T8: the two commands after an edit of PID 1, on the host: the bundles, then the image (the bundle changed by one comment, then restored). */
function rebuild(out: string, arch: string): { buildMs: number; imageMs: number; totalMs: number } {
  const node = (args: string[]) => {
    const start = performance.now();
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    return Math.round(performance.now() - start);
  };
  const buildMs = node([join(ROOT, 'build', 'compile.mjs')]);
  const built = readFileSync(BUNDLE);
  try {
    appendFileSync(BUNDLE, `\n// bench ${Date.now()}\n`);
    const imageMs = node([join(ROOT, 'bin', 'nodeos.js'), 'build', '--out', out, '--arch', arch]);
    return { buildMs, imageMs, totalMs: buildMs + imageMs };
  } finally {
    writeFileSync(BUNDLE, built);
    node([join(ROOT, 'bin', 'nodeos.js'), 'build', '--out', out, '--arch', arch]);
  }
}

const COMPRESSIONS = ['gzip', 'zstd'] as const;
type Measured = (typeof COMPRESSIONS)[number];
const COMMANDS: Record<Measured, { decompress: string; compress: string }> = { gzip: { decompress: 'gzip -dc', compress: 'gzip -9' }, zstd: { decompress: 'zstd -dcq', compress: 'zstd -19 -T0 -q' } };

/** The image's initramfs in each compression (the image's own, and the same archive recompressed), for the choice between them. */
function bothCompressions(manifestPath: string): Record<Measured, string> {
  const dir = dirname(manifestPath);
  const source = join(dir, readManifest(manifestPath).initramfs!.path);
  const own: Measured = source.endsWith('.zst') ? 'zstd' : 'gzip';
  const other: Measured = own === 'zstd' ? 'gzip' : 'zstd';
  const recompressed = join(dir, `bench-${INITRAMFS_FILE[other]}`);
  execFileSync('sh', ['-c', `${COMMANDS[own].decompress} "$1" | ${COMMANDS[other].compress} > "$2"`, 'sh', source, recompressed]);
  return { [own]: source, [other]: recompressed } as Record<Measured, string>;
}

export async function bootBenchmark(manifestPath: string, runs: number, out: string) {
  const manifest = readManifest(manifestPath);
  if (!manifest.initramfs) throw new Error('bench: the floor comparison needs an image with a separate initramfs (--kernel debian)');
  const floors = { marker: await floorInitramfs(manifestPath, 'marker'), repl: await floorInitramfs(manifestPath, 'repl') };
  const users = usersImage(manifestPath, manifest.arch);
  const archives = bothCompressions(manifestPath);
  const own: Measured = manifest.initramfs.path.endsWith('.zst') ? 'zstd' : 'gzip';
  const samples: { marker: number[]; floorNode: number[]; modules: number[]; bootWork: number[]; repl: number[]; replAnswer: number[]; ready: number[]; prompt: number[]; answer: number[]; unpack: Record<string, number[]>; users: Awaited<ReturnType<typeof bootWithUsers>>[] } = {
    marker: [],
    floorNode: [],
    modules: [],
    bootWork: [],
    repl: [],
    replAnswer: [],
    ready: [],
    prompt: [],
    answer: [],
    unpack: { gzip: [], zstd: [] },
    users: [],
  };
  for (let i = 0; i < runs; i++) {
    const floor = await markerFloor(manifestPath, floors.marker);
    samples.marker.push(floor.markerMs);
    samples.floorNode.push(floor.nodeMs);
    const replFloor = await replFloorPrompt(manifestPath, floors.repl);
    samples.repl.push(replFloor.promptMs);
    samples.replAnswer.push(replFloor.answerMs);
    const plain = await bootWithoutUsers(manifestPath);
    samples.ready.push(plain.readyMs);
    samples.modules.push(plain.modulesMs);
    samples.bootWork.push(plain.bootWorkMs);
    samples.prompt.push(plain.promptMs);
    samples.answer.push(plain.answerMs);
    samples.unpack[own].push(plain.unpackMs);
    const other = COMPRESSIONS.find((c) => c !== own)!;
    samples.unpack[other].push((await bootWithoutUsers(manifestPath, archives[other])).unpackMs);
    samples.users.push(await bootWithUsers(manifestPath, users));
  }
  const pick = <T>(f: (s: (typeof samples.users)[number]) => T) => samples.users.map(f);
  const sizes = await imageSizes(manifestPath, own, archives);
  const rss = median(pick((s) => s.rss.pid1Kb / s.rss.nodeKb));
  const replRss = median(pick((s) => s.rss.replKb / s.rss.nodeKb));
  const reaped = median(pick((s) => s.orphans.reapedMs));
  const poweroff = median(pick((s) => s.poweroffMs));
  const rebuilt = rebuild(out, manifest.arch);
  return {
    runs,
    kernel: manifest.kernel.version,
    node: manifest.node.version,
    // split: node's own time to the floor's line, and to PID 1's main (node and its modules); then main → ready (the boot work).
    t1ReadyWithoutUsers: {
      ...against(samples.ready, samples.marker, TARGETS.readyRatio),
      split: {
        floorNodeMs: median(samples.floorNode),
        modulesMs: median(samples.modules),
        bootWorkMs: median(samples.bootWork),
        samples: { floorNode: samples.floorNode, modules: samples.modules, bootWork: samples.bootWork },
      },
    },
    // firstAnswer: typing `6 * 7` at the prompt → 42 (ours loads node:repl at that first key; the floor's has it).
    t2Prompt: { ...against(samples.prompt, samples.repl, TARGETS.promptRatio), firstAnswer: { nodeosMs: median(samples.answer), floorMs: median(samples.replAnswer), nodeosSamples: samples.answer, floorSamples: samples.replAnswer } },
    t3UsersRunning: { ...against(pick((s) => s.usersMs), samples.marker, TARGETS.usersRatio), split: pick((s) => s.split) },
    t4Image: {
      ...sizes,
      unpackMs: { gzip: median(samples.unpack.gzip), zstd: median(samples.unpack.zstd) },
      targets: { bytes: TARGETS.imageBytes, overFloorBytes: TARGETS.overFloorBytes },
      met: sizes.bytes <= TARGETS.imageBytes && sizes.overFloorBytes <= TARGETS.overFloorBytes,
    },
    // replRatio: node's own REPL against the same node -e, the least a PID 1 that serves one can be.
    t5IdleRss: { ratio: Number(rss.toFixed(3)), target: TARGETS.idleRssRatio, met: rss <= TARGETS.idleRssRatio, replRatio: Number(replRss.toFixed(3)), samples: pick((s) => s.rss) },
    t6Orphans: { orphans: ORPHANS, reapedMs: reaped, target: TARGETS.orphansReapedMs, met: reaped <= TARGETS.orphansReapedMs && pick((s) => s.orphans.zombies).every((z) => z.length === 0), samples: pick((s) => s.orphans) },
    t7Poweroff: { processes: SLEEPERS, requestToRebootMs: poweroff, target: TARGETS.poweroffMs, met: poweroff <= TARGETS.poweroffMs, samples: pick((s) => s.poweroffMs) },
    t8Rebuild: { ...rebuilt, target: TARGETS.rebuildMs, met: rebuilt.totalMs <= TARGETS.rebuildMs },
  };
}

/** The image's initramfs and the floor's (node + libraries), as gzip -9 and as zstd -19. */
async function imageSizes(manifestPath: string, own: Measured, archives: Record<Measured, string>) {
  const each = async (compression: Measured) => ({ bytes: statSync(archives[compression]).size, floorBytes: statSync(await floorInitramfs(manifestPath, 'marker', compression)).size });
  const [gzip, zstd] = [await each('gzip'), await each('zstd')];
  const image = own === 'gzip' ? gzip : zstd;
  return { compression: own, bytes: image.bytes, overFloorBytes: image.bytes - image.floorBytes, gzip, zstd };
}
