// Networking as PID 1 does it, for real: PID 1 in its own network namespace,
// a veth pair to a second namespace of ours running Debian's dnsmasq as the
// DHCP and DNS server. The link appears after boot (hotplug), gets a lease,
// routes and resolv.conf; the lease is renewed at T1, survives the carrier
// going and coming back; with the server gone the address is dropped at expiry. Nothing leaves the two namespaces. (The
// clock is not namespaced: nodeos.ntp=off keeps the lease's NTP server from
// ever setting the host's.)
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { bootNamespace, writeRootTree } from '../fixtures/namespace';

const BOOT_MS = 30_000;
const SERVER_NS = `nodeos-dhcp-${process.pid}`;
const LEASE_S = 120; // dnsmasq's shortest lease
const T1_S = 8;
const T2_S = 30;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

t.test('DHCP from dnsmasq over a veth: lease, routes, names, renewal, carrier, expiry', async (t) => {
  const dir = t.testdir({ tree: {}, root: {} });
  const tree = await writeRootTree(`${dir}/tree`);
  const pid1 = bootNamespace(tree, `${dir}/root`, 'nodeos.rootwait=0 nodeos.hostname=netns nodeos.shutdown_timeout=500 nodeos.ntp=off');
  t.teardown(() => pid1.child.kill('SIGKILL'));
  await pid1.expect('net: lo: up, 127.0.0.1/8 ::1/128', BOOT_MS);
  await pid1.expect('nodeos> ', BOOT_MS);

  // Loopback works before anything else is there.
  t.equal(
    await pid1.value("new Promise((resolve) => { const server = require('net').createServer((s) => s.end('pong')).listen(0, '127.0.0.1', () => require('net').connect(server.address().port, '127.0.0.1').on('data', (d) => { server.close(); resolve(String(d)); })); })"),
    'pong',
    'TCP over loopback',
  );
  t.equal(await pid1.value("fs.readFileSync('/etc/hosts', 'utf8').includes('127.0.1.1\\tnetns')"), true, '/etc/hosts names the hostname');

  // The server's side, then the link into PID 1's namespace: it appears after boot.
  ip('netns', 'add', SERVER_NS);
  t.teardown(() => ip('netns', 'del', SERVER_NS));
  ip('link', 'add', 'veth-dhcp', 'netns', SERVER_NS, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid1.hostPid()));
  ip('-n', SERVER_NS, 'addr', 'add', '10.9.1.1/24', 'dev', 'veth-dhcp');
  ip('-n', SERVER_NS, 'link', 'set', 'veth-dhcp', 'up');
  let serverLog = '';
  const startServer = () => {
    const dnsmasq = spawn('ip', ['netns', 'exec', SERVER_NS, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--interface=veth-dhcp', '--bind-interfaces',
      `--dhcp-range=10.9.1.100,10.9.1.150,${LEASE_S}s`, `--dhcp-option=option:T1,${T1_S}`, `--dhcp-option=option:T2,${T2_S}`, '--dhcp-option=option:ntp-server,10.9.1.1',
      '--domain=nodeos.test', `--dhcp-leasefile=${dir}/leases`, '--no-resolv', '--no-hosts', '--address=/registry.test/10.9.1.1', '--log-facility=-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [dnsmasq.stdout, dnsmasq.stderr]) stream.on('data', (d) => (serverLog += d));
    t.teardown(() => dnsmasq.kill());
    return dnsmasq;
  };
  const dnsmasq = startServer();

  const bound = await pid1.expect(/net: eth0: bound (10\.9\.1\.\d+)\/24 from 10\.9\.1\.1, lease 120 s, router 10\.9\.1\.1, dns 10\.9\.1\.1/, 60_000);
  const address = bound[1];
  t.match(pid1.output, /net: eth0: selecting: looking for a DHCP server[\s\S]*net: eth0: requesting: offer of/, 'each state change is one line');
  await pid1.expect('net: dns: 10.9.1.1 (search nodeos.test)', 10_000);

  const net = await pid1.value<{ interfaces: { name: string; addresses: string[]; lease?: { server: string; ntp: string[] } }[]; routes: unknown[]; dns: string[]; ntp: string[] }>('net()');
  const eth0 = net.interfaces.find((i) => i.name === 'eth0')!;
  t.ok(eth0.addresses.includes(`${address}/24`), 'the address is on eth0');
  t.match(eth0.lease, { server: '10.9.1.1', ntp: ['10.9.1.1'] }, 'the lease names an NTP server');
  t.same(net.routes, [
    { ifname: 'eth0', destination: '0.0.0.0', prefixLength: 0, gateway: '10.9.1.1' },
    { ifname: 'eth0', destination: '10.9.1.0', prefixLength: 24, gateway: null },
  ], 'default route via the router, and the subnet');
  t.same(net.dns, ['10.9.1.1']);
  t.same(net.ntp, [], 'which nodeos.ntp=off leaves unused');
  t.match(await pid1.value("fs.readFileSync('/etc/resolv.conf', 'utf8')"), /nameserver 10\.9\.1\.1\nsearch nodeos\.test\n/, 'resolv.conf');
  t.same(await pid1.value("dns.promises.lookup('registry.test')"), { address: '10.9.1.1', family: 4 }, 'getaddrinfo resolves through resolv.conf');
  t.same(await pid1.value("dns.promises.resolve4('registry.test')"), ['10.9.1.1'], "and node's own resolver, made before the lease (the loopback check's listen), was told");
  t.match(readFileSync(`${dir}/leases`, 'utf8'), new RegExp(`${address.replace(/\./g, '\\.')} netns `), 'the server leased it to our hostname');

  // T1: renewed with the same server, same address.
  await pid1.expect(`net: eth0: renewing: asking 10.9.1.1 to extend ${address}`, (T1_S + 10) * 1000);
  await pid1.expect(`net: eth0: renewed ${address}/24 from 10.9.1.1`, 10_000);

  // The cable is pulled: the address goes; plugged back, the old address is asked for again.
  ip('-n', SERVER_NS, 'link', 'set', 'veth-dhcp', 'down');
  await pid1.expect('net: eth0: no-carrier: carrier lost', 10_000);
  t.notOk((await pid1.value<{ name: string; addresses: string[] }[]>('net().interfaces')).find((i) => i.name === 'eth0')!.addresses.includes(`${address}/24`), 'no address without a carrier');
  ip('-n', SERVER_NS, 'link', 'set', 'veth-dhcp', 'up');
  await pid1.expect(`net: eth0: rebooting: carrier back; asking again for ${address}`, 10_000);
  await pid1.expect(`net: eth0: bound ${address}/24 from 10.9.1.1`, 20_000);

  // The server goes away: rebinding at T2, then at expiry the address is dropped.
  dnsmasq.kill();
  await pid1.expect(`net: eth0: rebinding: 10.9.1.1 did not answer; asking any server to extend ${address}`, (LEASE_S + 10) * 1000);
  await pid1.expect(`net: eth0: lease of ${address} expired; address dropped`, (LEASE_S + 10) * 1000);
  await pid1.expect('net: eth0: selecting: looking for a DHCP server', 10_000);
  const after = await pid1.value<{ interfaces: { name: string; addresses: string[] }[]; routes: unknown[]; dns: string[] }>('net()');
  t.notOk(after.interfaces.find((i) => i.name === 'eth0')!.addresses.some((a) => a.startsWith('10.9.1.')), 'no address left');
  t.same(after.routes, [], 'no routes left');
  t.same(after.dns, [], 'no name servers left');
  t.same(await pid1.value('dns.getServers()'), ['127.0.0.1'], "node's resolver, made before, was told: loopback, not the server that went");
  t.equal(await pid1.value('1 + 1'), 2, 'the REPL never waited for any of it');

  // The server is back: a new lease, which shutdown gives back before the address goes.
  startServer();
  const again = (await pid1.expect(/net: eth0: bound (10\.9\.1\.\d+)\/24 from 10\.9\.1\.1/, 90_000))[1];
  process.kill(pid1.hostPid(), 'SIGTERM');
  await pid1.expect(`net: eth0: stopped: releasing ${again}`, 10_000);
  await pid1.exited;
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.match(serverLog, new RegExp(`DHCPRELEASE\\(veth-dhcp\\) ${again.replace(/\./g, '\\.')} `), 'the server got the RELEASE');
});

t.test('static configuration and off, from the command line', async (t) => {
  const dir = t.testdir({ tree: {}, root: {} });
  const tree = await writeRootTree(`${dir}/tree`);
  const pid1 = bootNamespace(tree, `${dir}/root`, 'nodeos.rootwait=0 nodeos.ntp=off nodeos.net=off nodeos.net.eth1=10.9.2.5/24,gw=10.9.2.1,dns=10.9.2.53,mtu=1400');
  t.teardown(() => pid1.child.kill('SIGKILL'));
  await pid1.expect('nodeos.net=off: only loopback and interfaces named by nodeos.net.IF=', BOOT_MS);
  await pid1.expect('nodeos> ', BOOT_MS);
  const ns = `${SERVER_NS}-static`;
  ip('netns', 'add', ns);
  t.teardown(() => ip('netns', 'del', ns));
  for (const [outside, inside] of [['veth-a', 'eth0'], ['veth-b', 'eth1']]) {
    ip('link', 'add', outside, 'netns', ns, 'type', 'veth', 'peer', 'name', inside, 'netns', String(pid1.hostPid()));
    ip('-n', ns, 'link', 'set', outside, 'up');
  }
  await pid1.expect('net: eth1: static 10.9.2.5/24 via 10.9.2.1', 10_000);
  await pid1.expect('net: dns: 10.9.2.53', 10_000);
  const net = await pid1.value<{ interfaces: { name: string; addresses: string[]; mtu: number; state: string; mode: string }[]; routes: unknown[] }>('net()');
  t.match(net.interfaces.find((i) => i.name === 'eth1'), { mode: 'static', addresses: ['10.9.2.5/24'], mtu: 1400 });
  t.match(net.interfaces.find((i) => i.name === 'eth0'), { mode: 'off', addresses: [], state: 'down' }, 'eth0 is left alone (nodeos.net=off)');
  t.same(net.routes, [
    { ifname: 'eth1', destination: '0.0.0.0', prefixLength: 0, gateway: '10.9.2.1' },
    { ifname: 'eth1', destination: '10.9.2.0', prefixLength: 24, gateway: null },
  ]);
  t.match(await pid1.value("fs.readFileSync('/etc/resolv.conf', 'utf8')"), /^nameserver 10\.9\.2\.53$/m);
  t.equal(await pid1.value("process.moduleLoadList.some((m) => /^NativeModule dns(\\/promises)?$/.test(m))"), false, 'PID 1 never loaded node:dns to tell it');
  t.same(await pid1.value('dns.getServers()'), ['10.9.2.53'], "node's resolver, made now (the REPL's dns), read resolv.conf");
  t.notMatch(pid1.output, /selecting|DHCP server/, 'no DHCP anywhere');
});
