// The container image's pure parts: the tar writer (read back by GNU tar),
// the users layer, the archive's layout and its reproducibility, container
// detection, and the deploy files naming this version.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { ociArchive, usersEntries, IMAGE_NAME, type Layer } from '../../build/oci';
import { ROOT } from '../../build/paths';
import { splitPath, tarBuffer } from '../../build/tar';
import { detectContainer, effectiveCapabilities, maySysAdmin, writeTerminationLog } from '../../src/container';
import { DEFAULTS } from '../../src/config';

const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

/** GNU tar's listing: mode owner size name [-> target]. */
function tarList(archive: Buffer): string[] {
  const result = spawnSync('tar', ['-tv', '--numeric-owner', '--full-time'], { input: archive, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout.trim().split('\n').map((line) => line.split(/\s+/).filter((_, i) => ![3, 4].includes(i)).join(' '));
}

t.test('tar: GNU tar reads it back: owners, modes, long names and targets through pax', async (t) => {
  const deep = `${'d/'.repeat(70)}file`;
  const wide = `${'x'.repeat(120)}/${'y'.repeat(110)}`;
  const archive = tarBuffer(
    [
      { type: 'file', path: '/bin/node', mode: 0o755, data: Buffer.from('#!fake\n') },
      { type: 'file', path: 'home/alice/secret', mode: 0o600, data: Buffer.from('s'), uid: 1000, gid: 1000 },
      { type: 'dir', path: 'tmp', mode: 0o1777 },
      { type: 'symlink', path: 'usr/bin/node', target: '/bin/node' },
      { type: 'symlink', path: 'far', target: `/${'t'.repeat(150)}` },
      { type: 'file', path: deep, mode: 0o644, data: Buffer.alloc(0) },
      { type: 'file', path: wide, mode: 0o644, data: Buffer.from('w') },
    ],
    1_700_000_000,
  );
  t.equal(archive.length % 512, 0, 'whole blocks');
  const listing = tarList(archive);
  t.ok(listing.includes('-rwxr-xr-x 0/0 7 bin/node'));
  t.ok(listing.includes('-rw------- 1000/1000 1 home/alice/secret'));
  t.ok(listing.includes('drwxr-xr-x 0/0 0 home/'), 'parents added, root-owned');
  t.ok(listing.includes('drwxrwxrwt 0/0 0 tmp/'));
  t.ok(listing.includes('lrwxrwxrwx 0/0 0 usr/bin/node -> /bin/node'));
  t.ok(listing.includes(`lrwxrwxrwx 0/0 0 far -> /${'t'.repeat(150)}`), 'a long target');
  t.ok(listing.includes(`-rw-r--r-- 0/0 0 ${deep}`), 'a deep path (ustar prefix)');
  t.ok(listing.includes(`-rw-r--r-- 0/0 1 ${wide}`), 'a path no prefix can hold (pax)');
  t.ok(tarBuffer([{ type: 'dir', path: 'a', mode: 0o755 }], 5).equals(tarBuffer([{ type: 'dir', path: 'a', mode: 0o755 }], 5)), 'same input, same bytes');
  t.throws(() => tarBuffer([{ type: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 }], 0), /device nodes are not put in layers/);
  t.throws(() => tarBuffer([{ type: 'dir', path: 'a', mode: 0o755 }, { type: 'dir', path: '/a/', mode: 0o700 }], 0), /duplicate path a/);
  t.same(splitPath(`${'p'.repeat(150)}/${'n'.repeat(90)}`), { prefix: 'p'.repeat(150), name: 'n'.repeat(90) });
  t.equal(splitPath(`${'p'.repeat(160)}/n`), undefined);
});

t.test('the users layer: owners as on disk or as --owner says, passwords as the user\'s own', async (t) => {
  const dir = t.testdir({ alice: { init: '#!/bin/node\n', '.nodeos': { passwd: 'old' } }, bob: { init: '#!/bin/node\n' }, '.nodeos': { ssh: {} } });
  chmodSync(join(dir, 'alice', 'init'), 0o755);
  const entries = usersEntries({ dir, owners: { alice: { uid: 1000, gid: 1001 } }, passwords: { alice: '$scrypt$hash', bob: '$scrypt$bob' } });
  const by = (path: string) => entries.filter((e) => e.path === path);
  t.match(by('home/alice/init'), [{ type: 'file', mode: 0o755, uid: 1000, gid: 1001 }], "--owner: alice's files are hers");
  t.match(by('home/bob/init'), [{ type: 'file', uid: process.getuid!() }], 'bob keeps the owner on disk');
  t.match(by('home/alice/.nodeos/passwd'), [{ mode: 0o600, uid: 1000, gid: 1001, data: Buffer.from('$scrypt$hash') }], 'the given password replaces the old one');
  t.match(by('home/alice/.nodeos'), [{ type: 'dir', mode: 0o700, uid: 1000 }]);
  t.match(by('home/bob/.nodeos/passwd'), [{ mode: 0o600 }], 'a settings folder made where there was none');
  t.match(by('home/.nodeos/ssh'), [{ type: 'dir' }], "the system's folder comes along");
  t.throws(() => usersEntries({ dir, owners: {}, passwords: { carol: 'x' } }), /--password carol: no folder carol/);
});

t.test('the archive: OCI layout and docker-save manifest over the same blobs, reproducible', async (t) => {
  const layers: Layer[] = [
    { name: 'runtime: a', entries: [{ type: 'file', path: 'bin/node', mode: 0o755, data: Buffer.from('node') }] },
    { name: 'system: b', entries: [{ type: 'file', path: 'lib/nodeos/init.js', mode: 0o755, data: Buffer.from('init') }] },
  ];
  const saved = process.env.SOURCE_DATE_EPOCH;
  t.teardown(() => (saved === undefined ? delete process.env.SOURCE_DATE_EPOCH : (process.env.SOURCE_DATE_EPOCH = saved)));
  process.env.SOURCE_DATE_EPOCH = '1700000000';
  const first = await ociArchive('x64', layers);
  const again = await ociArchive('x64', layers);
  t.same(Object.keys(first.files).sort(), Object.keys(again.files).sort());
  for (const [path, data] of Object.entries(first.files)) t.ok(data.equals(again.files[path]), `${path}: same bytes`);
  process.env.SOURCE_DATE_EPOCH = '1700000001';
  t.not((await ociArchive('x64', layers)).image.digest, first.image.digest, 'the mtime is an input');

  const { files, image } = first;
  t.same(JSON.parse(files['oci-layout'].toString()), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(files['index.json'].toString());
  t.match(index.manifests, [{ digest: image.digest, annotations: { 'io.containerd.image.name': `docker.io/${IMAGE_NAME}:${version}`, 'org.opencontainers.image.ref.name': version } }]);
  const blob = (digest: string) => files[`blobs/sha256/${digest.replace('sha256:', '')}`];
  for (const [path, data] of Object.entries(files)) {
    if (path.startsWith('blobs/')) t.equal(`sha256:${createHash('sha256').update(data).digest('hex')}`, path.replace('blobs/sha256/', 'sha256:'), `${path}: named by its digest`);
  }
  const manifest = JSON.parse(blob(image.digest).toString());
  const config = JSON.parse(blob(manifest.config.digest).toString());
  t.same(
    config.rootfs.diff_ids,
    manifest.layers.map((l: { digest: string }) => `sha256:${createHash('sha256').update(gunzipSync(blob(l.digest))).digest('hex')}`),
    'diff_ids are the uncompressed layers',
  );
  t.match(config, { architecture: 'amd64', os: 'linux', created: '2023-11-14T22:13:20.000Z', config: { StopSignal: 'SIGTERM', Env: ['PATH=/usr/bin:/bin', 'NODEOS_PLATFORM=container', 'MALLOC_ARENA_MAX=1'] } });
  t.notOk('Volumes' in config.config);
  t.same(config.history.map((h: { created_by: string }) => h.created_by), ['nodeos build --platform oci: runtime: a', 'nodeos build --platform oci: system: b']);
  const docker = JSON.parse(files['manifest.json'].toString());
  t.same(docker, [{ Config: `blobs/sha256/${manifest.config.digest.slice(7)}`, RepoTags: [`${IMAGE_NAME}:${version}`], Layers: manifest.layers.map((l: { digest: string }) => `blobs/sha256/${l.digest.slice(7)}`) }]);
  t.same(tarList(gunzipSync(blob(manifest.layers[1].digest))), ['drwxr-xr-x 0/0 0 lib/', 'drwxr-xr-x 0/0 0 lib/nodeos/', '-rwxr-xr-x 0/0 4 lib/nodeos/init.js']);
});

t.test('container detection: the marker decides, /proc confirms', async (t) => {
  t.same(detectContainer({}, true), { container: false });
  t.same(detectContainer({ NODEOS_PLATFORM: 'container' }, true), { container: true });
  t.match(detectContainer({ NODEOS_PLATFORM: 'container' }, false), { container: false, problem: /\/proc is not mounted: booting as a kernel's PID 1/ });
  const docker = 'Name:\tnode\nCapEff:\t00000000a80425fb\n';
  const privileged = 'CapEff:\t000001ffffffffff\n';
  t.equal(effectiveCapabilities(docker), 0xa80425fbn);
  t.notOk(maySysAdmin(effectiveCapabilities(docker)), "Docker's defaults: no CAP_SYS_ADMIN");
  t.ok(maySysAdmin(effectiveCapabilities(privileged)));
  t.equal(effectiveCapabilities('Name:\tx\n'), 0n);
  const dir = t.testdir({ log: '' });
  writeTerminationLog('boot failed: why', join(dir, 'log'));
  t.equal(readFileSync(join(dir, 'log'), 'utf8'), 'boot failed: why\n');
  writeTerminationLog('nowhere', join(dir, 'missing'));
  t.throws(() => readFileSync(join(dir, 'missing')), { code: 'ENOENT' }, 'not created where the engine gives none');
});

t.test('deploy files: this version, /home on a volume, a grace period above the shutdown timeout', async (t) => {
  const [claim, deployment] = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'kubernetes.yaml'), 'utf8')).map((d) => d.toJSON());
  t.match(claim, { kind: 'PersistentVolumeClaim', metadata: { name: 'nodeos-home' } });
  t.match(deployment, { kind: 'Deployment', spec: { replicas: 1, strategy: { type: 'Recreate' } } });
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;
  t.equal(container.image, `docker.io/${IMAGE_NAME}:${version}`);
  t.ok(pod.terminationGracePeriodSeconds * 1000 > DEFAULTS.shutdownTimeoutMs, 'users get their grace before the kubelet kills');
  t.match(container, { volumeMounts: [{ name: 'home', mountPath: '/home' }], resources: { limits: { memory: String } }, livenessProbe: { tcpSocket: { port: 22 } } });
  t.match(pod.volumes, [{ name: 'home', persistentVolumeClaim: { claimName: 'nodeos-home' } }]);
  t.notOk(container.securityContext?.runAsNonRoot, 'PID 1 runs as root to become the users');
  const compose = parse(readFileSync(join(ROOT, 'deploy', 'compose.yaml'), 'utf8'));
  t.match(compose.services.nodeos, { image: `${IMAGE_NAME}:${version}`, volumes: ['./home:/home'], tty: true, stdin_open: true });
  t.ok(Number(compose.services.nodeos.stop_grace_period.replace('s', '')) * 1000 > DEFAULTS.shutdownTimeoutMs);
});

