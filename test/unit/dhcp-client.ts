// The DHCP lease state machine on a fake clock, against a scripted server:
// obtain, renew at T1, rebind at T2, expire, NAK, carrier loss and return,
// RELEASE at stop, and backoff while nobody answers.
import t from 'tap';
import { BROADCAST, DHCP_POLICY, DhcpClient, type Lease } from '../../src/net/dhcp-client';
import type { DhcpMessage } from '../../src/net/dhcp-packet';
import { fakeClock } from '../fixtures/fake-clock';
import { memoryLog } from '../fixtures/fake-sys';

const MAC = '52:54:00:12:34:56';
const SERVER = '10.0.2.2';

function world() {
  const clock = fakeClock(1_000_000);
  const sent: { msg: DhcpMessage; to: string; at: number }[] = [];
  const events: string[] = [];
  const log = memoryLog();
  const client = new DhcpClient('eth0', MAC, 'nodeos', {
    send: (msg, to) => void sent.push({ msg, to, at: clock.now() }),
    configure: (lease: Lease, previous?: Lease) => void events.push(`configure ${lease.address}${previous ? ` (was ${previous.address})` : ''}`),
    deconfigure: (lease: Lease) => void events.push(`deconfigure ${lease.address}`),
    now: clock.now,
    after: clock.after,
    random: () => 0.5, // no jitter
  }, log);
  /** The server's answer to the last message sent. */
  const reply = (type: DhcpMessage['type'], fields: Partial<DhcpMessage> = {}) => {
    const last = sent.at(-1)!.msg;
    client.receive({
      op: 'reply', type, xid: last.xid, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '10.0.2.15', siaddr: SERVER, giaddr: '0.0.0.0', chaddr: MAC,
      serverId: SERVER, subnetMask: '255.255.255.0', routers: [SERVER], dns: ['10.0.2.3'], ntp: ['10.0.2.2'], leaseTime: 100, renewalTime: 50, rebindingTime: 80,
      ...fields,
    });
  };
  const bind = () => {
    client.start(true);
    reply('OFFER');
    reply('ACK');
  };
  return { clock, sent, events, log, client, reply, bind };
}

t.test('DISCOVER → OFFER → REQUEST → ACK: bound with every option', async (t) => {
  const w = world();
  w.client.start(true);
  t.match(w.sent[0], { to: BROADCAST, msg: { type: 'DISCOVER', flags: 0x8000, hostname: 'nodeos', chaddr: MAC } }, 'broadcast DISCOVER with the BROADCAST flag and our hostname');
  t.ok(w.sent[0].msg.parameters!.includes(42) && w.sent[0].msg.parameters!.includes(26), 'asks for NTP servers and MTU');
  w.reply('OFFER');
  t.match(w.sent[1], { to: BROADCAST, msg: { type: 'REQUEST', requestedIp: '10.0.2.15', serverId: SERVER, xid: w.sent[0].msg.xid } });
  w.reply('ACK');
  t.equal(w.client.state, 'bound');
  t.match(w.client.active, { address: '10.0.2.15', prefixLength: 24, router: SERVER, dns: ['10.0.2.3'], ntp: ['10.0.2.2'], leaseS: 100, renewS: 50, rebindS: 80 });
  t.same(w.events, ['configure 10.0.2.15']);
  t.match(w.log.lines, ['info: eth0: selecting: looking for a DHCP server', 'info: eth0: requesting: offer of 10.0.2.15 from 10.0.2.2', /^info: eth0: bound 10\.0\.2\.15\/24 from 10\.0\.2\.2, lease 100 s, router 10\.0\.2\.2, dns 10\.0\.2\.3$/], 'one line per state change');
});

t.test('replies to other transactions or other machines are ignored', async (t) => {
  const w = world();
  w.client.start(true);
  const xid = w.sent[0].msg.xid;
  w.client.receive({ ...w.sent[0].msg, op: 'reply', type: 'OFFER', xid: xid + 1, yiaddr: '10.0.2.99', serverId: SERVER });
  w.client.receive({ ...w.sent[0].msg, op: 'reply', type: 'OFFER', chaddr: '52:54:00:00:00:01', yiaddr: '10.0.2.99', serverId: SERVER });
  w.client.receive({ ...w.sent[0].msg, op: 'reply', type: 'ACK', yiaddr: '10.0.2.99', serverId: SERVER });
  t.equal(w.client.state, 'selecting');
});

t.test('nobody answers: DISCOVER backs off 4 s, 8 s … 64 s, forever, and never blocks', async (t) => {
  const w = world();
  w.client.start(true);
  w.clock.advance(10 * 60_000);
  const gaps = w.sent.slice(1).map((s, i) => s.at - w.sent[i].at);
  t.same(gaps.slice(0, 6), [4000, 8000, 16000, 32000, 64000, 64000]);
  t.ok(w.sent.length > 10, 'still asking after ten minutes');
  t.equal(w.client.state, 'selecting');
  t.equal(w.log.lines.filter((l) => l.startsWith('warn')).length, 1, 'one warning, not one per try');
});

t.test('T1: renew by unicast to the server; an ACK extends the lease', async (t) => {
  const w = world();
  w.bind();
  w.clock.advance(50_000);
  t.equal(w.client.state, 'renewing');
  t.match(w.sent.at(-1), { to: SERVER, msg: { type: 'REQUEST', ciaddr: '10.0.2.15', flags: 0 } });
  t.notOk(w.sent.at(-1)!.msg.requestedIp, 'no requested-ip while renewing');
  w.reply('ACK');
  t.equal(w.client.state, 'bound');
  t.same(w.events, ['configure 10.0.2.15', 'configure 10.0.2.15 (was 10.0.2.15)']);
  t.match(w.log.lines.at(-1), /renewed 10\.0\.2\.15/);
  // The new lease counts from the renewal: no expiry at the old time.
  w.clock.advance(60_000);
  t.equal(w.client.state, 'renewing', 'renewing again at the new T1');
  t.notMatch(w.events.join(), /deconfigure/);
});

t.test('T2: rebind by broadcast; then expiry drops the address and starts over', async (t) => {
  const w = world();
  w.bind();
  w.clock.advance(80_000);
  t.equal(w.client.state, 'rebinding');
  t.match(w.sent.at(-1), { to: BROADCAST, msg: { type: 'REQUEST', ciaddr: '10.0.2.15' } });
  w.clock.advance(20_000);
  t.same(w.events, ['configure 10.0.2.15', 'deconfigure 10.0.2.15']);
  t.equal(w.client.state, 'selecting');
  t.equal(w.client.active, undefined);
  t.ok(w.log.lines.includes('warn: eth0: lease of 10.0.2.15 expired; address dropped'));
  t.equal(w.sent.at(-1)!.msg.type, 'DISCOVER');
});

t.test('a NAK while renewing drops the address and starts over after a pause', async (t) => {
  const w = world();
  w.bind();
  w.clock.advance(50_000);
  w.reply('NAK', { message: 'wrong network' });
  t.same(w.events, ['configure 10.0.2.15', 'deconfigure 10.0.2.15']);
  t.equal(w.client.state, 'selecting');
  t.equal(w.log.lines.at(-1), 'info: eth0: selecting: NAK from 10.0.2.2 (wrong network); starting over shortly');
  const count = w.sent.length;
  w.clock.advance(DHCP_POLICY.firstRetryMs);
  t.equal(w.sent.length, count + 1);
  t.equal(w.sent.at(-1)!.msg.type, 'DISCOVER');
});

t.test('a REQUEST that gets no ACK is retried, then the client starts over', async (t) => {
  const w = world();
  w.client.start(true);
  w.reply('OFFER');
  w.clock.advance(4000 + 8000 + 16000 + 32000);
  t.equal(w.sent.filter((s) => s.msg.type === 'REQUEST').length, DHCP_POLICY.requestTries);
  t.equal(w.sent.at(-1)!.msg.type, 'DISCOVER');
});

t.test('carrier lost drops the address; carrier back asks for it again (INIT-REBOOT)', async (t) => {
  const w = world();
  w.bind();
  w.clock.advance(10_000);
  w.client.carrier(false);
  t.equal(w.client.state, 'no-carrier');
  t.same(w.events, ['configure 10.0.2.15', 'deconfigure 10.0.2.15']);
  const sent = w.sent.length;
  w.clock.advance(60_000);
  t.equal(w.sent.length, sent, 'silent without a carrier');
  w.client.carrier(true);
  t.equal(w.client.state, 'rebooting');
  t.match(w.sent.at(-1), { to: BROADCAST, msg: { type: 'REQUEST', requestedIp: '10.0.2.15' } });
  t.notOk(w.sent.at(-1)!.msg.serverId, 'no server id in INIT-REBOOT');
  w.reply('ACK');
  t.equal(w.client.state, 'bound');
  t.equal(w.events.at(-1), 'configure 10.0.2.15');
});

t.test('carrier back after the lease ran out: a fresh DISCOVER', async (t) => {
  const w = world();
  w.bind();
  w.client.carrier(false);
  w.clock.advance(200_000);
  w.client.carrier(true);
  t.equal(w.client.state, 'selecting');
});

t.test('started without carrier: waits for it', async (t) => {
  const w = world();
  w.client.start(false);
  t.equal(w.client.state, 'no-carrier');
  t.equal(w.sent.length, 0);
  w.client.carrier(true);
  t.equal(w.sent[0].msg.type, 'DISCOVER');
});

t.test('stop: RELEASE to the server, address dropped, no timers left', async (t) => {
  const w = world();
  w.bind();
  await w.client.stop();
  t.match(w.sent.at(-1), { to: SERVER, msg: { type: 'RELEASE', ciaddr: '10.0.2.15', serverId: SERVER } });
  t.equal(w.log.lines.at(-1), 'info: eth0: stopped: releasing 10.0.2.15');
  t.same(w.events, ['configure 10.0.2.15', 'deconfigure 10.0.2.15']);
  t.equal(w.client.state, 'stopped');
  t.equal(w.clock.timers.length, 0);
  const quiet = world();
  quiet.client.start(true);
  await quiet.client.stop();
  t.equal(quiet.sent.length, 1, 'nothing to release without a lease');
});

t.test('odd leases: missing T1/T2 default to 1/2 and 7/8, infinite leases never renew', async (t) => {
  const w = world();
  w.client.start(true);
  w.reply('OFFER');
  w.reply('ACK', { leaseTime: 1000, renewalTime: undefined, rebindingTime: undefined, subnetMask: undefined });
  t.match(w.client.active, { renewS: 500, rebindS: 875, prefixLength: 24 });
  const forever = world();
  forever.client.start(true);
  forever.reply('OFFER');
  forever.reply('ACK', { leaseTime: 0xffffffff });
  t.equal(forever.client.active!.leaseS, Infinity);
  t.equal(forever.clock.timers.length, 0);
  const backwards = world();
  backwards.client.start(true);
  backwards.reply('OFFER');
  backwards.reply('ACK', { leaseTime: 100, renewalTime: 90, rebindingTime: 60 });
  t.ok(backwards.client.active!.renewS < backwards.client.active!.rebindS, 'T1 < T2 < lease, whatever the server says');
});
