// An appliance from an npm package (what `nodeos build --platform pc --app
// DIR --password root` does): a fixture HTTP server with a dependency
// (installed at build time from a registry on the host's loopback) and a
// health check. Booted under UEFI, the serial console shows the dashboard:
// the app running and healthy, `r` restarts it, `c` leads to root's login
// and REPL. The app runs as its own user and answers the host through
// --forward; killed, it comes back after the backoff; made unhealthy, it is
// ended and restarted; a flood of output stays within its log's cap; after a
// reboot its log and PID 1's still hold the first boot's lines.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appUsersTree } from '../../build/app';
import { buildImage } from '../../build/image';
import { buildPcImage } from '../../build/pc-image';
import type { Session } from '../../build/session';
import { hashPassword } from '../../src/passwd';
import { bootGuest } from '../../build/qemu';
import { freePort } from '../fixtures/ports';
import { startRegistry } from '../fixtures/registry';
import { writeFixturePackages } from '../fixtures/npm-tree';
import { BOOT_MS, until } from '../fixtures/users-checks';
import { Screen } from '../fixtures/screen';

const SERVER = `const http = require('http');
const fs = require('fs');
const dep = require('nodeos-fixture-dep');
console.log('listening on ' + process.env.PORT + ' as ' + process.getuid() + ' (' + process.env.MODE + '), ' + process.argv.slice(2).join(' '));
http.createServer((req, res) => {
  if (req.url === '/flood') {
    for (let i = 0; i < 5000; i++) console.log('flood ' + i + ' ' + 'x'.repeat(1000));
    return res.end('flooded\\n');
  }
  if (req.url === '/health') {
    res.statusCode = fs.existsSync(process.env.HOME + '/unhealthy') ? 503 : 200;
    return res.end();
  }
  res.end('appliance: ' + dep + ' from ' + process.pid + '\\n');
}).listen(Number(process.env.PORT));
`;

const ROOT_PASSWORD = 'appliance-root';

/** The dashboard's c key: a login, root only, then root's REPL. */
async function loginAsRoot(guest: Session): Promise<void> {
  guest.send('c');
  await guest.expect('login: ', BOOT_MS);
  guest.send('root\r');
  await guest.expect('Password: ', BOOT_MS);
  guest.send(`${ROOT_PASSWORD}\r`);
  await guest.expect('nodeos> ', BOOT_MS);
}

interface AppStatus {
  name: string;
  uid: number;
  pid: number;
  state: string;
  restarts: number;
  health?: { state: string; failing: number };
}

t.test('an npm package as a PC appliance', async (t) => {
  const dir = t.testdir({ packages: {}, tarballs: {}, out: {} });
  const registry = await startRegistry(writeFixturePackages(join(dir, 'packages')).slice(0, 1), join(dir, 'tarballs'));
  t.teardown(() => registry.close());
  const app = join(dir, 'hello');
  mkdirSync(app);
  writeFileSync(join(app, 'server.js'), SERVER);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'hello-appliance',
      version: '1.0.0',
      scripts: { start: 'node server.js --greeting hi' },
      dependencies: { 'nodeos-fixture-dep': '^1.0.0' },
      nodeos: { ports: [8080], env: { PORT: '8080' }, health: { url: 'http://127.0.0.1:8080/health', intervalS: 2, failures: 2 } },
    }),
  );
  writeFileSync(join(dir, 'app.env'), 'MODE=appliance\n');
  const registryUrl = `http://127.0.0.1:${registry.port}/`;
  const tree = await appUsersTree(app, { envFile: join(dir, 'app.env'), registry: registryUrl, withRoot: true });
  t.teardown(() => rmSync(dirname(tree.dir), { recursive: true, force: true }));
  const { path: manifest } = await buildImage({ arch: 'x64', out: join(dir, 'out'), platform: 'pc', kernel: 'debian' });
  const disk = await buildPcImage(manifest, { usersDir: tree.dir, usersSize: '128M', owners: tree.owners, passwords: { root: await hashPassword(ROOT_PASSWORD) }, registry: registryUrl });
  t.ok(registry.requests.some((r) => r.includes('nodeos-fixture-dep')), 'the dependency came from the registry, at build time');
  t.same(execFileSync('ls', ['-a', app], { encoding: 'utf8' }).split('\n').filter(Boolean), ['.', '..', 'package.json', 'server.js'], 'the package folder is left as it was');

  const port = await freePort();
  const boot = () => bootGuest(manifest, { pcDisk: disk, firmware: 'uefi', bus: 'virtio', forwards: [`${port}:8080`] });
  const guest = boot();
  t.teardown(() => guest.child.kill('SIGKILL'));
  const screen = new Screen(guest);

  // The console is the dashboard: the app, running, then healthy.
  await screen.shows(/app\s+running[^\n]*healthy/);
  // A log line printed on the console may stand over it until the next refresh draws the whole screen.
  await screen.shows(/NAME\s+STATE\s+PID\s+RESTARTS\s+UP\s+CPU\s+MEM\s+HEALTH/);
  t.pass('the dashboard lists the apps');
  await screen.shows(/log: app[^]*listening on 8080/); // the selected app's last log lines
  guest.send('r');
  await guest.expect(/users: app: restart requested/, BOOT_MS);
  await guest.expect(/users: app: started \(pid \d+\)/, BOOT_MS);
  await loginAsRoot(guest);
  const appStatus = () => guest.value<AppStatus>("users().find((u) => u.name === 'app')");
  t.same((await guest.value<AppStatus[]>('users()')).map((u) => [u.name, u.uid]), [['app', 1000]], 'the app is the one user running; root only logs in');
  // dashboard() from root's REPL, q back.
  guest.send('dashboard()\r');
  await screen.shows(/log: app[^]*listening on 8080/); // the dashboard again, its log pane
  guest.send('q');
  await screen.shows(/^nodeos> /m); // back from the dashboard's own screen (the REPL's lines, which the dashboard's screen has none of)
  t.equal(await until(guest, "users()[0].health.state === 'healthy' && 'healthy'"), 'healthy', 'its health check passes');

  const fetch = () => execFileSync('curl', ['-sS', '--max-time', '30', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const first = await appStatus();
  t.equal(fetch(), `appliance: dep says hi from ${first.pid}\n`, 'the host reaches the app, which has its dependency');

  // Killed: the supervisor brings it back after the first backoff.
  await guest.eval(`process.kill(${first.pid}, 'SIGKILL')`);
  await guest.expect(/users: app: exited with signal SIGKILL; restarting in 1 s/, BOOT_MS);
  const second = await until<AppStatus>(guest, `(() => { const u = users()[0]; return u.state === 'running' && u.pid !== ${first.pid} && u; })()`);
  t.equal(second.restarts, 1);
  t.ok(await until(guest, "users()[0].health.state === 'healthy'"), 'healthy again');
  t.equal(fetch(), `appliance: dep says hi from ${second.pid}\n`);

  // Unhealthy: two failed checks in a row end it; it comes back healthy once the cause is gone.
  await guest.eval("fs.writeFileSync('/home/app/unhealthy', '')");
  await guest.expect(/users: app: health check failed \(HTTP 503\), 2 of 2/, BOOT_MS);
  await guest.expect(/users: app: ending it: 2 failed health checks in a row \(HTTP 503\)/, BOOT_MS);
  await guest.eval("fs.rmSync('/home/app/unhealthy')");
  const third = await until<AppStatus>(guest, `(() => { const u = users()[0]; return u.state === 'running' && u.restarts === 2 && u.health.state === 'healthy' && u; })()`);
  t.not(third.pid, second.pid, 'a new run');
  t.match(await guest.value("fs.readFileSync('/home/app/.nodeos/log/init.log', 'utf8')"), /listening on 8080 as 1000 \(appliance\), --greeting hi\n/, 'its output is in its log, with its arguments and the env file\'s variables');

  // A flood of output: its log stays within two files of the cap (nodeos.user_log_max, 1M), the newest lines kept.
  t.equal(execFileSync('curl', ['-sS', '--max-time', '120', `http://127.0.0.1:${port}/flood`], { encoding: 'utf8' }), 'flooded\n');
  const sizes = await until<number[]>(guest, "(() => { const d = '/home/app/.nodeos/log/'; const l = fs.readFileSync(d + 'init.log', 'utf8'); return l.includes('flood 4999 ') && [fs.statSync(d + 'init.log').size, fs.statSync(d + 'init.log.1').size]; })()");
  t.ok(sizes.every((size) => size <= 1 << 20), `init.log and init.log.1 within 1 MiB each (${sizes})`);
  await guest.eval('logs("app", 1)');
  t.match(guest.output, /flood 4999 x+\r?\n/, 'logs() prints its last line');
  t.equal(fetch().startsWith('appliance: '), true, 'the app carries on');

  guest.send('.reboot\n');
  await guest.expect('calling reboot(2) for reboot', BOOT_MS);
  t.same(await guest.exited, { code: 0, signal: null });

  const again = boot();
  t.teardown(() => again.child.kill('SIGKILL'));
  await new Screen(again).shows(/app\s+running/);
  await loginAsRoot(again);
  const log = await until<string>(again, "(() => { const d = '/home/app/.nodeos/log/'; const l = fs.readFileSync(d + 'init.log.1', 'utf8') + fs.readFileSync(d + 'init.log', 'utf8'); return l.includes('flood 4999') && l.split('listening').length > 1 && l; })()");
  t.match(log, /flood 4999 x+\n[^]*listening on 8080/, 'the first boot\'s last lines are still in the log, then the second boot\'s');
  t.match(await again.value("fs.readFileSync('/home/.nodeos/log/nodeos.log', 'utf8')"), /warn nodeos: users: app: ending it: 2 failed health checks[^]*info nodeos: boot: ready in/, "PID 1's own log kept the first boot's events");
  again.send('.poweroff\n');
  t.same(await again.exited, { code: 0, signal: null });
});
