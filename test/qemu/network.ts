// "npm provides the rest", on a real kernel, offline: QEMU's user network,
// with every server the guest talks to run by this test on the host's
// loopback (QEMU's 10.0.2.2): dnsmasq for names, an SNTP server with a clock
// a year ahead, and an npm registry. Boot 1: a lease, the clock set by SNTP,
// alice installs a package with a dependency and a bin and runs it three
// ways, serves HTTP that the host reaches through --forward on a privileged
// port; app's dependencies were installed at image build time. Boot 2, with
// no NIC at all: the clock restored forward, both packages still there.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { bootGuest } from '../../build/qemu';
import { ROOT } from '../../build/paths';
import { usersImageWithDependencies } from '../../build/users-image';
import { startRegistry } from '../fixtures/registry';
import { startTimeServer } from '../fixtures/time-server';
import { FIXTURE_VALUE, writeFixturePackages, writeNpmUsersTree } from '../fixtures/npm-tree';
import { freePort } from '../fixtures/ports';
import { BOOT_MS, powerOff, until, waitJson } from '../fixtures/users-checks';

const manifest = join(ROOT, 'out', 'x64', 'manifest.json');
const YEAR_MS = 365 * 24 * 3600 * 1000;


interface AliceReport {
  startedAt: number;
  proxy: string[];
  ca: string;
  install?: { status: number; stderr: string };
  value: string;
  bin: { status: number; stdout: string };
  script: { status: number; stdout: string };
  help: { status: number; stdout: string };
  lookup: { address: string; family: number } | string;
  listening: number | string;
}

t.test('network, time and npm inside NodeOS', async (t) => {
  const dir = t.testdir({ packages: {}, tarballs: {}, tree: {} });
  const registry = await startRegistry(writeFixturePackages(join(dir, 'packages')), join(dir, 'tarballs'));
  t.teardown(() => registry.close());
  const sntp = await startTimeServer(YEAR_MS);
  t.teardown(() => sntp.close());
  // Names for the guest: registry.test is the host (10.0.2.2 from inside QEMU).
  const dnsmasq = spawn('dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '--listen-address=127.0.0.1', '--bind-interfaces', '--port=53', '--no-resolv', '--no-hosts', '--address=/registry.test/10.0.2.2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => dnsmasq.kill());
  let dnsmasqLog = '';
  dnsmasq.stderr.on('data', (d) => (dnsmasqLog += d));

  const hostRegistry = `http://127.0.0.1:${registry.port}/`;
  const tree = await writeNpmUsersTree(join(dir, 'tree'), `http://registry.test:${registry.port}/`, hostRegistry);
  const image = join(dir, 'users.img');
  await usersImageWithDependencies(tree, image, { size: '128M', label: 'nodeos-users', owners: {}, arch: 'x64', registry: hostRegistry });
  t.notOk(execFileSync('ls', ['-a', join(tree, 'app')], { encoding: 'utf8' }).includes('node_modules'), 'the source tree is left as it was');

  const hostPort = await freePort();
  const guest = bootGuest(manifest, {
    users: image,
    forwards: [`${hostPort}:80`],
    append: `nodeos.dns=10.0.2.2 nodeos.ntp=10.0.2.2:${sntp.port} nodeos.proxy=http://10.0.2.2:9 sysctl.net.ipv4.ip_unprivileged_port_start=80 nodeos.shutdown_timeout=3000`,
  });
  t.teardown(() => guest.child.kill('SIGKILL'));
  await guest.expect('nodeos> ', BOOT_MS);
  t.match(dnsmasqLog, /dnsmasq: started/, 'dnsmasq answers on the host loopback');
  t.equal(dnsmasq.exitCode, null);

  // A lease from QEMU's DHCP server; our DNS server, as the command line says.
  await guest.seen(/net: eth0: bound 10\.0\.2\.15\/24 from 10\.0\.2\.2, lease \d+ s, router 10\.0\.2\.2, dns 10\.0\.2\.3/, BOOT_MS);
  t.match(await guest.value("fs.readFileSync('/etc/resolv.conf', 'utf8')"), /^nameserver 10\.0\.2\.2$/m, 'nodeos.dns= replaces the lease\'s DNS');

  // SNTP: the guest's clock follows our server, a year ahead.
  await guest.seen(new RegExp(`clock: set to \\S+ by SNTP from 10\\.0\\.2\\.2:${sntp.port}`), BOOT_MS);
  const skew = (await guest.value<number>('Date.now()')) - Date.now();
  t.ok(Math.abs(skew - YEAR_MS) < 120_000, `the guest's clock is a year ahead (${Math.round(skew / 1000)} s)`);

  // alice installed from the registry by name, and used the package.
  const alice = await waitJson<AliceReport>(guest, '/home/alice/report.json');
  t.equal(alice.install?.status, 0, `npm install worked\n${alice.install?.stderr}`);
  t.equal(alice.value, FIXTURE_VALUE, 'require() finds the package and its dependency');
  t.match(alice.bin, { status: 0, stdout: 'hello from the fixture bin, dep says hi', stderr: '' }, 'its bin is on PATH');
  t.equal(alice.script.status, 0, `npm run works through /bin/sh\n${JSON.stringify(alice.script)}`);
  t.match(alice.script.stdout, /hello from the fixture bin, dep says hi\ngreet script ran/);
  t.match(alice.help, { status: 0, stdout: /Top hits for "install"[\s\S]*npm help install/ }, 'npm help searches its docs (no man pages: NodeOS has no man)');
  t.same(alice.lookup, { address: '10.0.2.2', family: 4 }, 'registry.test resolves through our DNS server');
  t.same(alice.proxy, ['http://10.0.2.2:9', 'http://10.0.2.2:9', 'registry.test,localhost', '1'], 'the proxy from the command line (for Node\'s own http too), NO_PROXY from .nodeos/environment');
  t.equal(alice.ca, '-----BEGIN CERTIFICATE-----', 'the CA bundle from .nodeos/ca.pem, readable by a user');
  t.equal(alice.listening, 80, 'a user listens on port 80 (sysctl.net.ipv4.ip_unprivileged_port_start=80)');
  t.ok(registry.requests.some((r) => r.startsWith(`registry.test:${registry.port} /nodeos-fixture-dep/-/`)), 'the guest fetched the tarballs by name');
  t.equal(await guest.value("fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()"), '80');

  // The host reaches alice's server through --forward.
  t.equal(execFileSync('curl', ['-sS', '--max-time', '30', `http://127.0.0.1:${hostPort}/`], { encoding: 'utf8' }), `alice serves ${FIXTURE_VALUE}\n`, 'curl on the host reaches her server');

  // app's dependencies came with the image.
  t.match(await waitJson(guest, '/home/app/report.json'), { value: FIXTURE_VALUE, uid: 1001 }, 'build-time install: require works, app runs as itself');
  t.equal(await guest.value("fs.statSync('/home/app/node_modules/nodeos-fixture').uid"), 1001, 'and app owns them');

  const net = await guest.value<{ interfaces: { name: string; lease?: { server: string; expiresInS: number } }[] }>('net()');
  t.match(net.interfaces.find((i) => i.name === 'eth0')?.lease, { server: '10.0.2.2', expiresInS: Number }, 'net() shows the lease');
  await powerOff(t, guest);
  t.match(guest.output, /net: eth0: stopped: releasing 10\.0\.2\.15[\s\S]*shutdown: unmounted filesystems/, 'the lease is released before the disk goes');

  // Boot 2: no NIC. The clock is restored forward; the packages are still there.
  const again = bootGuest(manifest, { users: image, net: 'none' });
  t.teardown(() => again.child.kill('SIGKILL'));
  await again.expect('nodeos> ', BOOT_MS);
  t.match(again.output, /clock: restored to \S+ \(the last saved time\)/);
  t.ok((await again.value<number>('Date.now()')) - Date.now() > YEAR_MS - 600_000, 'the saved time, a year ahead, was restored');
  t.notMatch(again.output, /eth0/, 'no NIC, no DHCP');
  // This boot's report (the last boot's is still there until alice writes hers).
  const offline = await until<AliceReport>(again, `((r) => r.startedAt > ${alice.startedAt} && r)(JSON.parse(fs.readFileSync('/home/alice/report.json', 'utf8')))`);
  t.notOk(offline.install, 'nothing to install the second time');
  t.equal(offline.value, FIXTURE_VALUE, "alice's package survived the reboot");
  t.match(await waitJson(again, '/home/app/report.json'), { value: FIXTURE_VALUE }, 'app works offline');
  await powerOff(t, again);
});
