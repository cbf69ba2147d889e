// The container image under podman, with private storage: `podman load`
// names it, the REPL answers over `-it` and `.reboot` is an exit status
// restart policies act on, `podman stop` ends it in order with 0, and
// `podman kube play deploy/kubernetes.yaml` runs the pod with its users
// seeded from the image into the claimed volume.
import t from 'tap';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildOciImage } from '../../build/oci';
import { ROOT } from '../../build/paths';
import { REBOOT_EXIT_CODE } from '../../src/container';
import { podman } from '../fixtures/engines';
import { UIDS, writeUsersTree } from '../fixtures/users-tree';

const dir = t.testdir({ image: {}, users: {} });
const engine = podman();
let ref = '';

t.before(async () => {
  // An image with a users layer: what a single-app image or a fleet's first start is seeded from.
  const image = await buildOciImage('x64', join(dir, 'image'), { dir: writeUsersTree(join(dir, 'users')), owners: {}, passwords: {} });
  t.same(image.layers.map((l) => l.name.split(':')[0]), ['runtime', 'system', 'users']);
  const { stdout } = await engine.run('load', '-i', image.archive);
  ref = `docker.io/${image.ref}`;
  t.match(stdout, `Loaded image: ${ref}`, 'loads under its own name');
});

t.teardown(async () => {
  await engine.run('rm', '-af').catch(() => {});
  await engine.run('pod', 'rm', '-af').catch(() => {});
  await engine.run('volume', 'rm', '-af').catch(() => {});
  rmSync(engine.dir, { recursive: true, force: true });
});

t.test('podman run -it: the REPL answers on the terminal; .reboot exits with the status restart policies restart on', async (t) => {
  const session = engine.onTerminal('run', '-it', '--rm', '--network', 'none', ref);
  await session.expect('container mode: REPL on this terminal', 60_000);
  await session.expect('ready in', 60_000);
  t.equal(await session.value('process.pid'), 1);
  t.same(await session.value('users().map((u) => [u.name, u.uid])'), [['root', 0], ['alice', UIDS.alice], ['bob', UIDS.bob], ['carol', UIDS.carol], ['erin', UIDS.erin], ['frank', UIDS.frank], ['hog', UIDS.hog]], "the image's users run");
  session.send('.reboot\r');
  t.same(await session.exited, { code: REBOOT_EXIT_CODE, signal: null }, `.reboot: exit ${REBOOT_EXIT_CODE}`);
  t.match(session.output, /reboot: exiting with status 129/);
});

t.test('podman stop: SIGTERM, the orderly shutdown, exit 0 inside the grace period', async (t) => {
  await engine.run('run', '-d', '--network', 'none', '--name', 'nodeos-stop', ref);
  const logs = async () => (await engine.run('logs', 'nodeos-stop')).stdout;
  for (let i = 0; i < 300 && !/ready in/.test(await logs()); i++) await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await engine.run('stop', '-t', '10', 'nodeos-stop');
  t.ok(Date.now() - started < 10_000, 'stopped before the engine resorts to SIGKILL');
  const { stdout } = await engine.run('inspect', '--format', '{{.State.ExitCode}}', 'nodeos-stop');
  t.equal(stdout.trim(), '0');
  const log = await logs();
  t.match(log, /users: root: stopped/);
  t.match(log, /poweroff: exiting with status 0/);
});

t.test('podman kube play deploy/kubernetes.yaml: the pod runs its users from the claimed volume', async (t) => {
  const manifest = join(ROOT, 'deploy', 'kubernetes.yaml');
  t.match(readFileSync(manifest, 'utf8'), `image: ${ref}`, 'the manifest names this version');
  await engine.run('kube', 'play', '--network', 'none', manifest);
  const { stdout: names } = await engine.run('ps', '--filter', 'label=app=nodeos', '--format', '{{.Names}}');
  const container = names.trim().split('\n').find((n) => n.endsWith('-nodeos'));
  t.ok(container, 'the Deployment\'s container runs');
  const logs = async () => (await engine.run('logs', container!)).stdout;
  for (let i = 0; i < 300 && !/alice: started/.test(await logs()); i++) await new Promise((r) => setTimeout(r, 100));
  t.match(await logs(), /container mode: no terminal/);
  const report = async (name: string) => {
    for (let i = 0; i < 300; i++) {
      const { stdout } = await engine.run('exec', container!, '/bin/node', '-p', `try { require('fs').readFileSync('/home/${name}/report.json', 'utf8') } catch { '' }`);
      if (stdout.trim()) return JSON.parse(stdout);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name}: no report`);
  };
  t.match(await report('alice'), { uid: UIDS.alice, HOME: '/home/alice' }, 'alice runs as herself');
  const { stdout: mounts } = await engine.run('inspect', '--format', '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}', container!);
  t.match(mounts, 'nodeos-home:/home', '/home is the claimed volume');
  const pod = (await engine.run('pod', 'ps', '--format', '{{.Name}}')).stdout.trim().split('\n').find((n) => n.startsWith('nodeos-pod'))!;
  await engine.run('pod', 'stop', '-t', '15', pod);
  t.equal((await engine.run('inspect', '--format', '{{.State.ExitCode}}', container!)).stdout.trim(), '0', 'the pod stops in order');
  await engine.run('kube', 'down', manifest);
});
