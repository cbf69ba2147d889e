// What the kernel says about the network, read from sysfs and procfs: the
// links (which are Ethernet, their MAC, carrier and MTU) and the IPv4 routes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Link {
  name: string;
  mac: string;
  /** ARPHRD_ETHER: what gets DHCP by default (loopback, tunnels and the like do not). */
  ethernet: boolean;
  up: boolean;
  carrier: boolean;
  mtu: number;
}

export interface Route {
  ifname: string;
  destination: string;
  prefixLength: number;
  gateway: string | null;
}

const ARPHRD_ETHER = 1;
const IFF_UP = 1;

const read = (dir: string, file: string) => {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return ''; // carrier reads EINVAL while the link is down; a link may vanish mid-read
  }
};

export function readLink(sysfs: string, name: string): Link {
  const dir = join(sysfs, name);
  return {
    name,
    mac: read(dir, 'address'),
    ethernet: Number(read(dir, 'type')) === ARPHRD_ETHER && name !== 'lo',
    up: (Number(read(dir, 'flags')) & IFF_UP) !== 0,
    carrier: read(dir, 'carrier') === '1',
    mtu: Number(read(dir, 'mtu')) || 0,
  };
}

export function readLinks(sysfs = '/sys/class/net'): Link[] {
  return readdirSync(sysfs)
    .sort()
    .map((name) => readLink(sysfs, name));
}

/** A little-endian hex IPv4 address from /proc/net/route ("0202000A" → 10.0.2.2). */
const hexIp = (hex: string) => [6, 4, 2, 0].map((at) => parseInt(hex.slice(at, at + 2), 16)).join('.');
const bitCount = (hex: string) => parseInt(hex, 16).toString(2).replace(/0/g, '').length;

/** /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask … */
export function parseRoutes(text: string): Route[] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 8)
    .map(([ifname, destination, gateway, , , , , mask]) => ({
      ifname,
      destination: hexIp(destination),
      prefixLength: bitCount(mask),
      gateway: gateway === '00000000' ? null : hexIp(gateway),
    }));
}

export const readRoutes = (path = '/proc/net/route') => parseRoutes(read('/', path));
