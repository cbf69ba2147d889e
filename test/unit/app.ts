// Appliances, their pure parts: the "nodeos" settings of package.json and
// the environment file, what starts the app (bin, start script, server.js,
// and the cases that cannot run without npm), the init that starts it, and
// the health monitor ending an app that stops answering.
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appSettings, appUsersTree, initScript, parseEnvFile, startCommand, type AppPackage } from '../../build/app';
import { startRegistry } from '../fixtures/registry';
import { writeFixturePackages } from '../fixtures/npm-tree';
import { HealthMonitor, httpProbe, parseHealthCheck, type Probe } from '../../src/health';
import { memoryLog } from '../fixtures/fake-sys';

t.test('settings: defaults, the environment file over package.json, every problem named', async (t) => {
  t.same(appSettings({ name: 'hello' }), { user: 'app', uid: 1000, gid: 1000, env: {}, ports: [] });
  const settings = appSettings(
    { name: 'hello', nodeos: { user: 'web', uid: 1500, env: { PORT: '8080', MODE: 'dev' }, ports: [8080], health: { url: 'http://127.0.0.1:8080/health' }, memoryMax: '256M', pidsMax: 64 } },
    parseEnvFile('# production\nMODE=prod\nexport TOKEN="s3cret"\n\n'),
  );
  t.same(settings, {
    user: 'web',
    uid: 1500,
    gid: 1500,
    env: { PORT: '8080', MODE: 'prod', TOKEN: 's3cret' },
    ports: [8080],
    health: { url: 'http://127.0.0.1:8080/health', intervalS: 10, timeoutS: 5, failures: 3, startPeriodS: 30 },
    memoryMax: '256M',
    pidsMax: 64,
  });
  const error = t.throws(() =>
    appSettings({ name: 'bad', nodeos: { user: 'root', uid: 0, gid: 1001, ports: [80, 70000], health: { url: 'ftp://x', command: ['true'] }, memoryMax: 'lots', colour: 'red' } }),
  ) as Error;
  for (const problem of [/nodeos.colour: unknown/, /nodeos.user: "root" is not an ordinary user name/, /nodeos.uid: 0 must be an integer from 1000/, /nodeos.gid: 1001 is not the uid \(0\)/, /nodeos.ports: must be a list of port numbers/, /nodeos.health: give a url or a command/, /nodeos.health.url: "ftp:\/\/x" is not an http:\/\/ URL/, /nodeos.memoryMax: "lots" is not a size/]) {
    t.match(error.message, problem);
  }
  t.throws(() => parseEnvFile('GOOD=1\nnot a line\n'), /env file line 2: expected KEY=VALUE/);
});

t.test('what starts the app: bin, the start script, server.js; never npm', async (t) => {
  const all = () => true;
  const pkg = (fields: Partial<AppPackage>): AppPackage => ({ name: '@acme/hello', ...fields });
  t.same(startCommand(pkg({ bin: './bin/hello.js' }), all), ['bin/hello.js']);
  t.same(startCommand(pkg({ bin: { hello: 'cli.js', helper: 'helper.js' } }), all), ['cli.js'], 'the bin named after the package');
  t.same(startCommand(pkg({ bin: { only: 'only.js' } }), all), ['only.js']);
  t.same(startCommand(pkg({ scripts: { start: 'node src/server.js --port 8080' } }), all), ['src/server.js', '--port', '8080']);
  t.same(startCommand(pkg({}), (f) => f === 'server.js'), ['server.js'], "npm's default start");
  t.throws(() => startCommand(pkg({ bin: { a: 'a.js', b: 'b.js' } }), all), /several bins \(a, b\) and none named hello/);
  t.throws(() => startCommand(pkg({ scripts: { start: 'nodemon server.js' } }), all), /is not `node FILE \[ARGS\]`/);
  t.throws(() => startCommand(pkg({ scripts: { start: 'node server.js && echo done' } }), all), /without npm or a shell/);
  t.throws(() => startCommand(pkg({ bin: '../escape.js' }), all), /outside the package/);
  t.throws(() => startCommand(pkg({ scripts: { start: 'node missing.js' } }), () => false), /missing.js \(what starts it\) is not in the package/);
  t.throws(() => startCommand(pkg({}), () => false), /nothing to start/);
});

t.test('the init: node loads the app in its own process, with its arguments and environment', async (t) => {
  const dir = t.testdir({ 'app.mjs': 'console.log(JSON.stringify({ argv: process.argv.slice(1), env: process.env.GREETING }));\n' });
  const script = initScript(dir, ['app.mjs', '--flag'], { GREETING: 'hi' }).replace('#!/bin/node', `#!${process.execPath}`);
  t.match(script, /^#!.*\n/);
  const { execFileSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${dir}/init`, script, { mode: 0o755 });
  t.same(JSON.parse(execFileSync(`${dir}/init`, { encoding: 'utf8' })), { argv: [`${dir}/app.mjs`, '--flag'], env: 'hi' }, 'an ES module, run as `node app.mjs --flag` would');
});

t.test('health: healthy resets the count, N failures in a row end the app, a stopped app is not probed', async (t) => {
  const answers: boolean[] = [true, false, false, true, false, false, false];
  let running = true;
  const ended: string[] = [];
  const probe: Probe = async () => (answers.shift() ? { ok: true } : { ok: false, why: 'ECONNREFUSED' });
  const log = memoryLog();
  const monitor = new HealthMonitor('app', { url: 'http://x/', intervalS: 1, timeoutS: 1, failures: 3, startPeriodS: 0 }, probe, { running: () => running, end: (why) => void ended.push(why), every: () => () => {}, now: () => 0 }, log);
  await monitor.tick();
  t.match(monitor.current(), { state: 'healthy', failing: 0 });
  await monitor.tick();
  await monitor.tick();
  t.match(monitor.current(), { state: 'healthy', failing: 2, last: 'ECONNREFUSED' });
  await monitor.tick();
  t.match(monitor.current(), { state: 'healthy', failing: 0 }, 'one good answer and the count starts over');
  await monitor.tick();
  await monitor.tick();
  await monitor.tick();
  t.same(ended, ['3 failed health checks in a row (ECONNREFUSED)']);
  t.match(monitor.current(), { state: 'unhealthy', failing: 3 });
  monitor.restarted();
  t.match(monitor.current(), { state: 'starting', failing: 0 });
  running = false;
  answers.push(false);
  await monitor.tick();
  t.equal(answers.length, 1, 'not probed while the app is down');
  t.match(log.lines, ['info: app: healthy', /warn: app: health check failed \(ECONNREFUSED\), 1 of 3/]);
});

t.test('health: a run that never answered has its start period before failures count; one answer ends it', async (t) => {
  let now = 0;
  const answers: boolean[] = [];
  const ended: string[] = [];
  const probe: Probe = async () => (answers.shift() ? { ok: true } : { ok: false, why: 'ECONNREFUSED' });
  const log = memoryLog();
  const monitor = new HealthMonitor('app', { url: 'http://x/', intervalS: 2, timeoutS: 1, failures: 2, startPeriodS: 10 }, probe, { running: () => true, end: (why) => void ended.push(why), every: () => () => {}, now: () => now }, log);
  monitor.start();
  const tick = async (answer: boolean, atS: number) => {
    now = atS * 1000;
    answers.push(answer);
    await monitor.tick();
  };
  for (const at of [2, 4, 6, 8]) await tick(false, at);
  t.match(monitor.current(), { state: 'starting', failing: 0, last: 'ECONNREFUSED' }, 'slow to listen: not counted within 10 s');
  t.same(log.lines, [], 'nor logged as failures');
  await tick(false, 10);
  await tick(false, 12);
  t.same(ended, ['2 failed health checks in a row (ECONNREFUSED)'], 'after the start period they count');

  monitor.restarted();
  now = 20_000;
  await tick(true, 21);
  await tick(false, 22);
  await tick(false, 23);
  t.equal(ended.length, 2, 'once healthy, the start period is over: failures count at once');
  monitor.restarted();
  await tick(false, 24);
  t.match(monitor.current(), { state: 'starting', failing: 0 }, 'a new run has a start period of its own');
  t.same(parseHealthCheck({ url: 'http://x/' }, 'h').check?.startPeriodS, 30, '30 s unless set');
  t.same(parseHealthCheck({ url: 'http://x/', startPeriodS: 0 }, 'h').check?.startPeriodS, 0, '0: none, as Docker\'s default');
  t.match(parseHealthCheck({ url: 'http://x/', startPeriodS: -1 }, 'h').problems, [/startPeriodS: -1 must be an integer from 0 to 3600/]);
  t.same(parseHealthCheck({ url: 'http://x/', startPeriod: 5 }, 'h').problems, ['h.startPeriod: unknown'], 'a misspelt setting is named');
});

t.test('the HTTP probe: 2xx and 3xx are healthy, errors and slow answers are not', async (t) => {
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 500);
    res.statusCode = req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 503;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.same(await httpProbe(`${base}/ok`)(1000), { ok: true });
  t.same(await httpProbe(`${base}/moved`)(1000), { ok: true });
  t.same(await httpProbe(`${base}/down`)(1000), { ok: false, why: 'HTTP 503' });
  t.match(await httpProbe(`${base}/slow`)(100), { ok: false, why: /no answer in 100 ms/ });
  t.same(await httpProbe('http://127.0.0.1:1/')(1000), { ok: false, why: 'ECONNREFUSED' });
});

t.test('an npm spec: packed through npm from its registry, its bin the start, the appliance marker beside it', async (t) => {
  const dir = t.testdir({ packages: {}, tarballs: {} });
  const registry = await startRegistry(writeFixturePackages(join(dir, 'packages')), join(dir, 'tarballs'));
  t.teardown(() => registry.close());
  const tree = await appUsersTree('nodeos-fixture@1.2.3', { registry: `http://127.0.0.1:${registry.port}/`, withRoot: true });
  t.teardown(() => rmSync(dirname(tree.dir), { recursive: true, force: true }));
  t.same(tree.command, ['bin.js']);
  t.same(tree.owners, { app: { uid: 1000, gid: 1000 }, root: { uid: 0, gid: 0 } });
  t.same(readdirSync(tree.dir).sort(), ['.nodeos', 'app', 'root']);
  t.ok(existsSync(join(tree.dir, 'app', 'bin.js')) && existsSync(join(tree.dir, 'app', 'package.json')), 'the package is the home');
  t.match(readFileSync(join(tree.dir, 'app', 'init'), 'utf8'), /^#!\/bin\/node\n[^]*import\("file:\/\/\/home\/app\/bin\.js"\)/);
  t.match(JSON.parse(readFileSync(join(tree.dir, '.nodeos', 'app.json'), 'utf8')), { name: 'nodeos-fixture', version: '1.2.3', user: 'app', command: ['bin.js'] });
  t.equal(statSync(join(tree.dir, 'app')).mode & 0o777, 0o700);
});
