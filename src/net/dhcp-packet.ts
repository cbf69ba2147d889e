// DHCPv4 messages (RFC 2131, options RFC 2132): bytes in, values out, and
// back. Pure: no sockets, no clock. A packet from the network is untrusted, so
// decoding checks every length and throws DhcpFormatError for anything
// malformed; the socket edge drops such packets with a debug line.
import { isIPv4 } from '../builtins';

export const MESSAGE = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
export type MessageType = keyof typeof MESSAGE;

/** Option codes we send or read. */
export const OPTION = {
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN: 15,
  MTU: 26,
  BROADCAST: 28,
  NTP: 42,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETERS: 55,
  MESSAGE: 56,
  MAX_SIZE: 57,
  T1: 58,
  T2: 59,
  CLIENT_ID: 61,
} as const;

/** What a client asks servers for (option 55). */
export const REQUESTED_PARAMETERS = [OPTION.SUBNET_MASK, OPTION.ROUTER, OPTION.DNS, OPTION.DOMAIN, OPTION.MTU, OPTION.BROADCAST, OPTION.NTP, OPTION.LEASE_TIME, OPTION.T1, OPTION.T2];

export const BROADCAST_FLAG = 0x8000;
const COOKIE = 0x63825363;
const HEADER = 236;
const MIN_SIZE = 300; // BOOTP's minimum; some relays drop shorter packets

export interface DhcpMessage {
  op: 'request' | 'reply';
  type: MessageType;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The client's MAC, "52:54:00:12:34:56". */
  chaddr: string;
  subnetMask?: string;
  routers?: string[];
  dns?: string[];
  domain?: string;
  hostname?: string;
  mtu?: number;
  ntp?: string[];
  requestedIp?: string;
  /** Seconds. */
  leaseTime?: number;
  renewalTime?: number;
  rebindingTime?: number;
  serverId?: string;
  parameters?: number[];
  message?: string;
  maxSize?: number;
  clientId?: Buffer;
}

export class DhcpFormatError extends Error {
  override name = 'DhcpFormatError';
}

const fail = (message: string): never => {
  throw new DhcpFormatError(message);
};

const ipBytes = (ip: string) => {
  if (!isIPv4(ip)) throw new TypeError(`not an IPv4 address: ${ip}`);
  return ip.split('.').map(Number);
};
const ipAt = (buf: Buffer, at: number) => `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
const macBytes = (mac: string) => {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new TypeError(`not a MAC address: ${mac}`);
  return mac.split(':').map((h) => parseInt(h, 16));
};

/** The prefix length of a contiguous netmask ("255.255.255.0" → 24), or undefined. */
export function prefixLength(mask: string): number | undefined {
  const n = ipBytes(mask).reduce((acc, b) => acc * 256 + b, 0);
  const ones = n.toString(2).padStart(32, '0').replace(/0+$/, '');
  return /^1*$/.test(ones) ? ones.length : undefined;
}

/** Encodes a message the way a client sends it. */
export function encodeDhcp(msg: DhcpMessage): Buffer {
  const options: number[] = [];
  const put = (code: number, bytes: number[]) => {
    for (let at = 0; at < bytes.length || at === 0; at += 255) {
      const part = bytes.slice(at, at + 255);
      options.push(code, part.length, ...part);
    }
  };
  const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  put(OPTION.MESSAGE_TYPE, [MESSAGE[msg.type]]);
  if (msg.clientId) put(OPTION.CLIENT_ID, [...msg.clientId]);
  if (msg.requestedIp) put(OPTION.REQUESTED_IP, ipBytes(msg.requestedIp));
  if (msg.serverId) put(OPTION.SERVER_ID, ipBytes(msg.serverId));
  if (msg.maxSize) put(OPTION.MAX_SIZE, [(msg.maxSize >> 8) & 255, msg.maxSize & 255]);
  if (msg.hostname) put(OPTION.HOSTNAME, [...Buffer.from(msg.hostname)]);
  if (msg.parameters) put(OPTION.PARAMETERS, msg.parameters);
  if (msg.subnetMask) put(OPTION.SUBNET_MASK, ipBytes(msg.subnetMask));
  if (msg.routers) put(OPTION.ROUTER, msg.routers.flatMap(ipBytes));
  if (msg.dns) put(OPTION.DNS, msg.dns.flatMap(ipBytes));
  if (msg.domain) put(OPTION.DOMAIN, [...Buffer.from(msg.domain)]);
  if (msg.mtu) put(OPTION.MTU, [(msg.mtu >> 8) & 255, msg.mtu & 255]);
  if (msg.ntp) put(OPTION.NTP, msg.ntp.flatMap(ipBytes));
  if (msg.leaseTime !== undefined) put(OPTION.LEASE_TIME, u32(msg.leaseTime));
  if (msg.renewalTime !== undefined) put(OPTION.T1, u32(msg.renewalTime));
  if (msg.rebindingTime !== undefined) put(OPTION.T2, u32(msg.rebindingTime));
  if (msg.message) put(OPTION.MESSAGE, [...Buffer.from(msg.message)]);
  options.push(255);

  const buf = Buffer.alloc(Math.max(MIN_SIZE, HEADER + 4 + options.length));
  buf[0] = msg.op === 'request' ? 1 : 2;
  buf[1] = 1; // htype: Ethernet
  buf[2] = 6; // hlen
  buf.writeUInt32BE(msg.xid >>> 0, 4);
  buf.writeUInt16BE(msg.secs, 8);
  buf.writeUInt16BE(msg.flags, 10);
  for (const [at, ip] of [[12, msg.ciaddr], [16, msg.yiaddr], [20, msg.siaddr], [24, msg.giaddr]] as const) Buffer.from(ipBytes(ip)).copy(buf, at);
  Buffer.from(macBytes(msg.chaddr)).copy(buf, 28);
  buf.writeUInt32BE(COOKIE, HEADER);
  Buffer.from(options).copy(buf, HEADER + 4);
  return buf;
}

/** Raw options: code → bytes, split options (RFC 3396) joined. */
function readOptions(buf: Buffer): Map<number, Buffer> {
  const raw = new Map<number, Buffer[]>();
  let at = HEADER + 4;
  while (at < buf.length) {
    const code = buf[at++];
    if (code === 0) continue; // pad
    if (code === 255) break; // end
    if (at >= buf.length) fail(`option ${code}: no length`);
    const length = buf[at++];
    if (at + length > buf.length) fail(`option ${code}: ${length} bytes, only ${buf.length - at} left`);
    raw.set(code, [...(raw.get(code) ?? []), buf.subarray(at, at + length)]);
    at += length;
  }
  return new Map([...raw].map(([code, parts]) => [code, Buffer.concat(parts)]));
}

const addresses = (code: number, data: Buffer, min = 1): string[] => {
  if (data.length < 4 * min || data.length % 4 !== 0) fail(`option ${code}: ${data.length} bytes is not a list of addresses`);
  return Array.from({ length: data.length / 4 }, (_, i) => ipAt(data, i * 4));
};
const exactly = (code: number, data: Buffer, size: number) => (data.length === size ? data : fail(`option ${code}: ${data.length} bytes, expected ${size}`));
// Text options are shown in logs: printable ASCII only.
const text = (code: number, data: Buffer) => {
  const value = data.toString('latin1').replace(/\0+$/, '');
  return /^[\x20-\x7e]*$/.test(value) ? value : fail(`option ${code}: not printable text`);
};

/** Decodes a message; throws DhcpFormatError when it is malformed. */
export function decodeDhcp(buf: Buffer): DhcpMessage {
  if (buf.length < HEADER + 4) fail(`${buf.length} bytes is too short for DHCP`);
  if (buf[0] !== 1 && buf[0] !== 2) fail(`op ${buf[0]}`);
  if (buf[1] !== 1 || buf[2] !== 6) fail(`hardware type ${buf[1]}/${buf[2]} is not Ethernet`);
  if (buf.readUInt32BE(HEADER) !== COOKIE) fail('no DHCP magic cookie');
  const options = readOptions(buf);
  const typeByte = options.get(OPTION.MESSAGE_TYPE);
  if (!typeByte || typeByte.length !== 1) fail('no message type');
  const type = (Object.keys(MESSAGE) as MessageType[]).find((name) => MESSAGE[name] === typeByte![0]) ?? fail(`message type ${typeByte![0]}`);
  const msg: DhcpMessage = {
    op: buf[0] === 1 ? 'request' : 'reply',
    type,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: ipAt(buf, 12),
    yiaddr: ipAt(buf, 16),
    siaddr: ipAt(buf, 20),
    giaddr: ipAt(buf, 24),
    chaddr: [...buf.subarray(28, 34)].map((b) => b.toString(16).padStart(2, '0')).join(':'),
  };
  for (const [code, data] of options) {
    switch (code) {
      case OPTION.SUBNET_MASK: msg.subnetMask = ipAt(exactly(code, data, 4), 0); break;
      case OPTION.ROUTER: msg.routers = addresses(code, data); break;
      case OPTION.DNS: msg.dns = addresses(code, data); break;
      case OPTION.NTP: msg.ntp = addresses(code, data); break;
      case OPTION.DOMAIN: msg.domain = text(code, data); break;
      case OPTION.HOSTNAME: msg.hostname = text(code, data); break;
      case OPTION.MESSAGE: msg.message = text(code, data); break;
      case OPTION.MTU: msg.mtu = exactly(code, data, 2).readUInt16BE(0); break;
      case OPTION.MAX_SIZE: msg.maxSize = exactly(code, data, 2).readUInt16BE(0); break;
      case OPTION.REQUESTED_IP: msg.requestedIp = ipAt(exactly(code, data, 4), 0); break;
      case OPTION.SERVER_ID: msg.serverId = ipAt(exactly(code, data, 4), 0); break;
      case OPTION.LEASE_TIME: msg.leaseTime = exactly(code, data, 4).readUInt32BE(0); break;
      case OPTION.T1: msg.renewalTime = exactly(code, data, 4).readUInt32BE(0); break;
      case OPTION.T2: msg.rebindingTime = exactly(code, data, 4).readUInt32BE(0); break;
      case OPTION.PARAMETERS: msg.parameters = [...data]; break;
      case OPTION.CLIENT_ID: msg.clientId = Buffer.from(data); break;
      default: // options we did not ask for are not ours to read
    }
  }
  return msg;
}
