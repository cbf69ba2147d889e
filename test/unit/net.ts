// The pure parts of networking and time: SNTP packets, the kernel's route
// table, the name files, the proxy environment file, QEMU's NIC arguments.
import t from 'tap';
import { parseSntpReply, readTimestamp, sntpRequest, writeTimestamp } from '../../src/net/sntp';
import { parseRoutes } from '../../src/net/links';
import { hostsFile, nodeResolverMade, resolvConf, Resolver } from '../../src/net/resolver';
import { getServers } from 'node:dns';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvironmentFile } from '../../src/net/proxy';
import { netArgs } from '../../build/qemu';

/** A server's reply to `request`: received at t2, sent at t3 (ms since 1970). */
function serverReply(request: Buffer, t2: number, t3: number, patch: (b: Buffer) => void = () => {}): Buffer {
  const reply = Buffer.alloc(48);
  reply[0] = (0 << 6) | (4 << 3) | 4;
  reply[1] = 2;
  request.copy(reply, 24, 40, 48); // originate = the client's transmit
  writeTimestamp(reply, 32, t2);
  writeTimestamp(reply, 40, t3);
  patch(reply);
  return reply;
}

t.test('NTP timestamps: 1900-based seconds and fractions, and the 2036 era', async (t) => {
  const buf = Buffer.alloc(8);
  for (const ms of [0, 1_700_000_000_123, Date.UTC(2036, 1, 7, 6, 28, 17), Date.UTC(2040, 0, 1)]) {
    writeTimestamp(buf, 0, ms);
    t.ok(Math.abs(readTimestamp(buf, 0) - ms) < 1, new Date(ms).toISOString());
  }
  writeTimestamp(buf, 0, 0);
  t.equal(buf.readUInt32BE(0), 2_208_988_800, '1970 is 2208988800 s after 1900');
});

t.test('SNTP: a request, a reply and the clock offset', async (t) => {
  const now = Date.UTC(2026, 10, 26, 12);
  const request = sntpRequest(now);
  t.equal(request.length, 48);
  t.equal(request[0], 0x23, 'version 4, client mode');
  // The server is one hour ahead; 40 ms each way.
  const hour = 3_600_000;
  const reply = serverReply(request, now + hour + 40, now + hour + 41);
  const { offsetMs, stratum } = parseSntpReply(reply, request, now + 81);
  t.ok(Math.abs(offsetMs - hour) < 1, `offset ${offsetMs} ms`);
  t.equal(stratum, 2);
});

t.test('SNTP replies that must not set the clock', async (t) => {
  const now = Date.UTC(2026, 10, 26);
  const request = sntpRequest(now);
  const refuse = (name: string, patch: (b: Buffer) => void, pattern: RegExp) =>
    t.throws(() => parseSntpReply(serverReply(request, now, now, patch), request, now), pattern, name);
  t.throws(() => parseSntpReply(Buffer.alloc(20), request, now), { name: 'SntpError', message: /too short/ }, 'truncated');
  refuse('client mode', (b) => (b[0] = (4 << 3) | 3), /mode 3/);
  refuse('kiss-o\'-death', (b) => ((b[1] = 0), b.write('RATE', 12, 'latin1')), /kiss-o'-death "RATE"/);
  refuse('stratum 16', (b) => (b[1] = 16), /stratum 16/);
  refuse('unsynchronized', (b) => (b[0] |= 3 << 6), /not synchronized/);
  refuse('spoofed: originate differs', (b) => b.writeUInt32BE(1, 24), /originate/);
  refuse('no transmit time', (b) => b.fill(0, 40, 48), /no transmit/);
  refuse('version 2', (b) => (b[0] = (2 << 3) | 4), /version 2/);
});

t.test('the route table from /proc/net/route', async (t) => {
  const text = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
    'eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
    'eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
  t.same(parseRoutes(text), [
    { ifname: 'eth0', destination: '0.0.0.0', prefixLength: 0, gateway: '10.0.2.2' },
    { ifname: 'eth0', destination: '10.0.2.0', prefixLength: 24, gateway: null },
  ]);
  t.same(parseRoutes(''), []);
});

t.test('resolv.conf and hosts', async (t) => {
  t.equal(resolvConf(['10.0.2.3', '1.1.1.1'], ['lan']).split('\n').slice(1).join('\n'), 'nameserver 10.0.2.3\nnameserver 1.1.1.1\nsearch lan\n');
  t.match(hostsFile('kiosk'), /^127\.0\.0\.1\tlocalhost\n::1\tlocalhost.*\n127\.0\.1\.1\tkiosk\n$/);
});

t.test("node's resolver in PID 1: told when one is made, else left to read resolv.conf when it is", async (t) => {
  t.ok(nodeResolverMade(), 'this test loaded node:dns, which made one');
  const dir = t.testdir({});
  const started = getServers();
  t.equal(new Resolver(dir, () => false).update(['10.0.2.3'], []), true);
  t.match(readFileSync(join(dir, 'resolv.conf'), 'utf8'), /^nameserver 10\.0\.2\.3$/m, 'resolv.conf written');
  t.same(getServers(), started, 'none made: nothing told');
  const resolver = new Resolver(dir);
  t.equal(resolver.update(['10.0.2.3'], []), true);
  t.same(getServers(), ['10.0.2.3']);
  t.equal(resolver.update(['10.0.2.3'], []), false, 'the same again: nothing done');
  t.equal(resolver.update([], []), true);
  t.same(getServers(), ['127.0.0.1'], 'servers gone: loopback, not the stale ones');
});

t.test('the system environment file takes proxy settings only', async (t) => {
  const { env, problems } = parseEnvironmentFile('# proxies\nHTTPS_PROXY=http://proxy:3128\nhttp_proxy="http://proxy:3128"\n\nNO_PROXY=localhost\nPATH=/evil\ngarbage\n');
  t.same(env, { HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost' });
  t.match(problems, [/^line 6: expected HTTP_PROXY=, HTTPS_PROXY=, NO_PROXY=, got "PATH=\/evil"/, /^line 7:/]);
});

t.test("QEMU's NIC: virtio on the user network, forwards from the host's loopback", async (t) => {
  t.same(netArgs(), ['-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0']);
  t.same(netArgs('user', ['8080:80', '2222:22']), ['-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=tcp:127.0.0.1:2222-:22', '-device', 'virtio-net-pci,netdev=n0']);
  t.same(netArgs('none'), ['-nic', 'none'], 'no NIC (and not the e1000 QEMU would add)');
  t.same(netArgs('isolated'), ['-netdev', 'hubport,id=n0,hubid=0', '-device', 'virtio-net-pci,netdev=n0']);
  t.throws(() => netArgs('user', ['80']), /--forward 80: expected HOSTPORT:GUESTPORT/);
  t.throws(() => netArgs('user', ['0:80']), /expected HOSTPORT:GUESTPORT/);
  t.throws(() => netArgs('none', ['8080:80']), /needs the user network/);
  t.throws(() => netArgs('tap' as never), /--net tap: expected user, none, isolated/);
});
