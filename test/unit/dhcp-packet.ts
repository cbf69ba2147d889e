// DHCP packets: what a client sends, what servers answer, and what hostile
// or broken packets do (they are refused with DhcpFormatError, nothing else).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { decodeDhcp, DhcpFormatError, encodeDhcp, prefixLength, REQUESTED_PARAMETERS, type DhcpMessage } from '../../src/net/dhcp-packet';

const MAC = '52:54:00:12:34:56';
const base: DhcpMessage = { op: 'request', type: 'DISCOVER', xid: 0xdeadbeef, secs: 3, flags: 0x8000, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: MAC };

// An ACK from dnsmasq 2.90 (Debian 12) on a veth, as our socket received it: 300 bytes.
const DNSMASQ_ACK = Buffer.from(
  '0201060047a0f5e300008000000000000a0901670a09010100000000aecab001978a' + '00'.repeat(202) +
    '6382536335010536040a0901013304000000783a' +
    '04000000143b04000000320104ffffff001c040a0901ff03040a09010106040a0901010f046e6f6465ff0000',
  'hex',
);

t.test('a client message encodes as BOOTP + options, and decodes back', async (t) => {
  const msg: DhcpMessage = { ...base, hostname: 'nodeos', parameters: REQUESTED_PARAMETERS, maxSize: 1500, clientId: Buffer.from([1, 0x52, 0x54, 0, 0x12, 0x34, 0x56]), requestedIp: '10.0.2.15', serverId: '10.0.2.2' };
  const buf = encodeDhcp(msg);
  t.ok(buf.length >= 300, 'padded to BOOTP minimum');
  t.equal(buf[0], 1, 'op BOOTREQUEST');
  t.equal(buf.readUInt32BE(4), 0xdeadbeef, 'xid');
  t.equal(buf.readUInt16BE(10), 0x8000, 'BROADCAST flag');
  t.equal(buf.toString('hex', 28, 34), '525400123456', 'chaddr');
  t.equal(buf.readUInt32BE(236), 0x63825363, 'magic cookie');
  t.same(decodeDhcp(buf), msg);
});

t.test('a server ACK (dnsmasq) gives every option we asked for', async (t) => {
  const ack = decodeDhcp(DNSMASQ_ACK);
  t.match(ack, {
    op: 'reply',
    type: 'ACK',
    xid: 0x47a0f5e3,
    flags: 0x8000,
    yiaddr: '10.9.1.103',
    siaddr: '10.9.1.1',
    chaddr: 'ae:ca:b0:01:97:8a',
    serverId: '10.9.1.1',
    leaseTime: 120,
    renewalTime: 20,
    rebindingTime: 50,
    subnetMask: '255.255.255.0',
    routers: ['10.9.1.1'],
    dns: ['10.9.1.1'],
    domain: 'node',
  });
  t.equal(prefixLength(ack.subnetMask!), 24);
});

t.test('long options are split on encode and joined on decode (RFC 3396)', async (t) => {
  const dns = Array.from({ length: 70 }, (_, i) => `10.0.${i}.1`); // 280 bytes: two options
  t.same(decodeDhcp(encodeDhcp({ ...base, op: 'reply', type: 'OFFER', dns })).dns, dns);
});

t.test('netmasks', async (t) => {
  t.equal(prefixLength('255.255.255.255'), 32);
  t.equal(prefixLength('255.255.240.0'), 20);
  t.equal(prefixLength('0.0.0.0'), 0);
  t.equal(prefixLength('255.0.255.0'), undefined, 'not contiguous');
});

t.test('malformed, truncated and hostile packets are refused with DhcpFormatError', async (t) => {
  const good = encodeDhcp({ ...base, op: 'reply', type: 'OFFER', dns: ['10.0.0.1'] });
  const bad = (name: string, buf: Buffer, pattern: RegExp) => t.throws(() => decodeDhcp(buf), pattern, name);
  bad('empty', Buffer.alloc(0), /too short/);
  bad('header only', good.subarray(0, 200), /too short/);
  bad('no cookie', Buffer.concat([good.subarray(0, 236), Buffer.alloc(64)]), /cookie/);
  const op = Buffer.from(good);
  op[0] = 9;
  bad('unknown op', op, /op 9/);
  const hlen = Buffer.from(good);
  hlen[2] = 16;
  bad('not Ethernet', hlen, /not Ethernet/);
  const optionsAt = 240;
  bad('no message type', Buffer.concat([good.subarray(0, optionsAt), Buffer.from([255])]), /no message type/);
  bad('option past the end', Buffer.concat([good.subarray(0, optionsAt), Buffer.from([53, 1, 2, 6, 200, 1, 2])]), /option 6: 200 bytes, only 2 left/);
  bad('length byte missing', Buffer.concat([good.subarray(0, optionsAt), Buffer.from([53, 1, 2, 6])]), /option 6: no length/);
  bad('mask of 3 bytes', Buffer.concat([good.subarray(0, optionsAt), Buffer.from([53, 1, 2, 1, 3, 255, 255, 255, 255])]), /option 1: 3 bytes, expected 4/);
  bad('dns of 5 bytes', Buffer.concat([good.subarray(0, optionsAt), Buffer.from([53, 1, 2, 6, 5, 1, 2, 3, 4, 5, 255])]), /option 6/);
  bad('unknown message type', Buffer.concat([good.subarray(0, optionsAt), Buffer.from([53, 1, 99, 255])]), /message type 99/);
  bad('escape codes in a domain', Buffer.concat([good.subarray(0, optionsAt), Buffer.from([53, 1, 2, 15, 4, 0x1b, 0x5b, 0x32, 0x4a, 255])]), /not printable/);
});

t.test('random bytes never throw anything but DhcpFormatError', async (t) => {
  const good = encodeDhcp({ ...base, op: 'reply', type: 'ACK', dns: ['10.0.0.1'], leaseTime: 60 });
  let other = 0;
  for (let i = 0; i < 3000; i++) {
    // Half pure noise, half a valid header with noise for options.
    const buf = i % 2 ? randomBytes(i % 600) : Buffer.concat([good.subarray(0, 240), randomBytes(i % 300)]);
    try {
      decodeDhcp(buf);
    } catch (err) {
      if (!(err instanceof DhcpFormatError)) other++;
    }
  }
  t.equal(other, 0);
});
