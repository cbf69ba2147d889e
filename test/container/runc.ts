// The container image under runc, as Docker would run it: built twice to the
// same digests, read by skopeo, unpacked by umoci; PID 1 in container mode
// starts the users of a bind-mounted /home under their uids, reaps orphans,
// ends on SIGTERM with status 0, isolates users further when given
// CAP_SYS_ADMIN, and fails a broken boot with a reason where Kubernetes reads it.
import t from 'tap';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildOciImage, IMAGE_NAME } from '../../build/oci';
import { writeUsersTree, UIDS } from '../fixtures/users-tree';
import { run, runcBundle, runcRun } from '../../build/runc';
import { REBOOT_EXIT_CODE } from '../../src/container';

process.env.SOURCE_DATE_EPOCH = '1700000000';
const dir = t.testdir({ a: {}, b: {}, users: {}, run1: {}, run2: {}, run3: {} });
let archive = '';
let tag = '';

t.test('the same inputs give the same image, byte for byte', async (t) => {
  const [a, b] = [await buildOciImage('x64', join(dir, 'a')), await buildOciImage('x64', join(dir, 'b'))];
  t.equal(a.digest, b.digest, 'same manifest digest');
  t.same(a.layers, b.layers, 'same layers');
  t.ok(readFileSync(a.archive).equals(readFileSync(b.archive)), 'same archive bytes');
  t.same(a.layers.map((l) => l.name.split(':')[0]), ['runtime', 'system']);
  t.ok(a.layers[0].bytes > 20e6 && a.layers[1].bytes < 2e6, 'node in the runtime layer; PID 1 small beside it');
  archive = a.archive;
  tag = a.ref.split(':')[1];

  // Inside the runtime layer: root-owned, one mtime, no device nodes, sorted.
  await run('tar', ['-xf', archive, '-C', join(dir, 'a'), a.layers[0].digest.replace('sha256:', 'blobs/sha256/')]);
  const { stdout } = await run('tar', ['-tvzf', join(dir, 'a', a.layers[0].digest.replace('sha256:', 'blobs/sha256/')), '--numeric-owner', '--full-time'], { maxBuffer: 64 << 20 });
  const lines = stdout.trim().split('\n');
  t.ok(lines.some((l) => / bin\/node$/.test(l)) && lines.some((l) => / bin\/sh$/.test(l)) && lines.some((l) => / usr\/bin\/npm /.test(l)), 'node, sh, npm');
  t.ok(lines.every((l) => / 0\/0 /.test(l)), 'every entry root-owned');
  t.ok(lines.every((l) => / 2023-11-14 22:13:20 /.test(l)), 'every mtime is SOURCE_DATE_EPOCH');
  t.notOk(lines.some((l) => /^[cbh]/.test(l)), 'no device nodes, no hard links');
  const names = lines.map((l) => l.split(/\s+/)[5].replace(/\/$/, ''));
  t.same(names, [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))), 'sorted');
});

t.test('skopeo reads the archive: name, entrypoint, marker, stop signal, labels, no volumes', async (t) => {
  const { stdout } = await run('skopeo', ['inspect', '--config', `oci-archive:${archive}`]);
  const config = JSON.parse(stdout);
  t.equal(config.architecture, 'amd64');
  t.same(config.config.Entrypoint, ['/lib/nodeos/boot.js'], 'boot.js through its #! line, as the kernel runs /init');
  t.ok(config.config.Env.includes('NODEOS_PLATFORM=container'));
  t.equal(config.config.StopSignal, 'SIGTERM');
  t.match(config.config.Labels, { 'org.opencontainers.image.version': tag, 'org.opencontainers.image.licenses': 'MIT', 'org.opencontainers.image.source': /^https:/ });
  t.notOk(config.config.Volumes, 'no anonymous volumes');
  const index = JSON.parse((await run('tar', ['-xOf', archive, 'index.json'])).stdout);
  t.match(index.manifests[0].annotations, { 'io.containerd.image.name': `docker.io/${IMAGE_NAME}:${tag}`, 'org.opencontainers.image.ref.name': tag });
  const docker = JSON.parse((await run('tar', ['-xOf', archive, 'manifest.json'])).stdout);
  t.same(docker[0].RepoTags, [`${IMAGE_NAME}:${tag}`], 'docker load names it too');
});

t.test('under runc with Docker\'s capabilities: users start as themselves, orphans are reaped, SIGTERM ends it with 0', async (t) => {
  const users = writeUsersTree(join(dir, 'users'));
  const bundle = await runcBundle(archive, join(dir, 'run1'), tag, { home: users });
  const id = `nodeos-test-${process.pid}-1`;
  const pid1 = runcRun(bundle, id);
  t.teardown(() => run('runc', ['delete', '--force', id]).catch(() => {}));
  await pid1.expect(/container mode: no terminal/, 60_000);
  await pid1.expect(/no CAP_SYS_ADMIN: users run as themselves/, 10_000);
  await pid1.expect(/ready in \d+ ms/, 60_000);
  t.match(pid1.output, /not started: dave: init leads out of the home/);

  const report = async (name: string) => {
    const path = join(users, name, 'report.json');
    for (let i = 0; i < 300 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 100));
    return JSON.parse(readFileSync(path, 'utf8'));
  };
  for (const name of ['root', 'alice', 'bob'] as const) {
    t.match(await report(name), { uid: UIDS[name], gid: UIDS[name], groups: '', HOME: `/home/${name}`, noNewPrivs: '1' }, `${name} runs as itself`);
  }
  const alice = await report('alice');
  t.match(alice, { listBob: 'EACCES', readBob: 'EACCES', writeBob: 'EACCES' }, "homes are closed to others (0700)");
  t.equal(alice.suid, String(UIDS.alice), 'a setuid-root binary gives no root');
  t.equal(statSync(join(users, 'alice')).mode & 0o777, 0o700);

  // An orphan: its parent exits at once, it outlives it and is re-parented to PID 1.
  const orphan = "require('child_process').spawn('/bin/node', ['-e', 'setTimeout(() => {}, 300)'], { detached: true, stdio: 'ignore' }).unref()";
  await run('runc', ['exec', id, '/bin/node', '-e', orphan]);
  await new Promise((r) => setTimeout(r, 2000));
  const states = "require('fs').readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).map((p) => require('fs').readFileSync('/proc/' + p + '/stat', 'utf8').replace(/^.*\\) /, '')[0]).join('')";
  const { stdout } = await run('runc', ['exec', id, '/bin/node', '-p', states]);
  t.notMatch(stdout, /Z/, 'no zombies');

  await run('runc', ['kill', id, 'TERM']);
  t.same(await pid1.exited, { code: 0, signal: null }, 'exit status 0');
  t.match(pid1.output, /poweroff requested/);
  t.match(pid1.output, /users: root: stopped/);
  t.match(pid1.output, /poweroff: exiting with status 0/);
  t.notMatch(pid1.output, /unmounted filesystems|reboot\(2\)/, "the engine's mounts and the kernel are left alone");
});

t.test('with CAP_SYS_ADMIN each user gets the private view it has on a machine', async (t) => {
  const users = join(dir, 'users');
  for (const name of ['root', 'alice']) writeFileSync(join(users, name, 'report.json'), '');
  const bundle = await runcBundle(archive, join(dir, 'run2'), tag, { home: users, extraCaps: ['SYS_ADMIN'] });
  const id = `nodeos-test-${process.pid}-2`;
  const pid1 = runcRun(bundle, id);
  t.teardown(() => run('runc', ['delete', '--force', id]).catch(() => {}));
  await pid1.expect(/ready in \d+ ms/, 60_000);
  t.notMatch(pid1.output, /no CAP_SYS_ADMIN/);
  const report = async (name: string) => {
    for (let i = 0; i < 300; i++) {
      const text = readFileSync(join(users, name, 'report.json'), 'utf8');
      if (text) return JSON.parse(text);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name}: no report`);
  };
  t.same((await report('alice')).homes, ['alice'], 'alice sees only her home');
  t.match(await report('alice'), { writeSystem: 'EROFS', listBob: 'ENOENT' });
  t.ok((await report('root')).homes.includes('bob'), 'root sees every home');
  await run('runc', ['kill', id, 'INT']);
  t.same(await pid1.exited, { code: 0, signal: null }, 'SIGINT (Ctrl-C) powers off too');
});

t.test('a boot that cannot go on exits non-zero with the reason in the termination log', async (t) => {
  const log = join(dir, 'termination-log');
  writeFileSync(log, '');
  const bundle = await runcBundle(archive, join(dir, 'run3'), tag, { files: { '/dev/termination-log': log } });
  await run('rm', ['-r', join(bundle, 'rootfs', 'home')]);
  const id = `nodeos-test-${process.pid}-3`;
  const pid1 = runcRun(bundle, id);
  t.teardown(() => run('runc', ['delete', '--force', id]).catch(() => {}));
  t.same(await pid1.exited, { code: 1, signal: null });
  t.match(readFileSync(log, 'utf8'), /^boot failed: .*\/home/);
  t.not(REBOOT_EXIT_CODE, 1, 'a failed boot and a reboot are told apart');
});
