// Networking, PID 1's part: loopback first, then every Ethernet interface as
// the command line says (DHCP by default, a static address, or off), at boot
// and when one appears later (polled, as the drivers are); the system's name
// servers; and RELEASE of every lease at shutdown. Nothing here waits for the
// network: leases come in the background and never delay `ready`.
import { networkInterfaces } from 'node:os';
import type { Config, InterfaceConfig } from '../config';
import type { Log } from '../log';
import type { Sys } from '../sys';
import { DhcpClient, type Lease } from './dhcp-client';
import { openDhcpSocket, type DhcpSocket } from './dhcp-socket';
import { readLink, readLinks, readRoutes, type Link } from './links';
import { Resolver } from './resolver';
import { monotonicMs } from '../clock';

/** How often links are looked at: new interfaces, carrier lost or back. */
export const LINK_POLL_MS = 1000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

interface Managed {
  link: Link;
  config: InterfaceConfig;
  client?: DhcpClient;
  socket?: DhcpSocket;
}

export interface InterfaceStatus {
  name: string;
  mac: string;
  mode: InterfaceConfig['mode'] | 'loopback';
  state: string;
  carrier: boolean;
  mtu: number;
  addresses: string[];
  lease?: { address: string; server: string; router?: string; dns: string[]; ntp: string[]; expiresInS: number | null };
}

/** setTimeout for any delay (a lease may outlast setTimeout's 24.8 days). */
export function after(ms: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = setTimeout(() => (left > MAX_TIMEOUT_MS ? arm(left - MAX_TIMEOUT_MS) : fn()), Math.min(left, MAX_TIMEOUT_MS));
  };
  arm(ms);
  return () => clearTimeout(timer);
}

const unique = (items: readonly string[]) => [...new Set(items)];

export class Network {
  private readonly managed = new Map<string, Managed>();
  private readonly resolver: Resolver;
  private readonly sysfs: string;
  private poll: NodeJS.Timeout | undefined;
  private firstScan: NodeJS.Immediate | undefined;
  private dns: string[] = [];
  private ntp: string[] = [];

  constructor(
    private readonly sys: Sys,
    private readonly config: Config,
    private readonly log: Log,
    /** Told whenever the SNTP servers change (from DHCP or the command line). */
    private readonly onNtpServers: (servers: string[]) => void,
    /** Where links are read and name files written (tests point them elsewhere). */
    paths: { sysfs?: string; netDir?: string } = {},
  ) {
    this.sysfs = paths.sysfs ?? '/sys/class/net';
    this.resolver = new Resolver(paths.netDir);
  }

  start(): void {
    this.loopback();
    this.resolver.writeHosts(this.config.hostname);
    this.refresh();
    if (this.config.net === 'off') this.log.info('nodeos.net=off: only loopback and interfaces named by nodeos.net.IF=');
    // Links and leases come up in the background: the first look is taken once PID 1's boot has run to ready.
    this.firstScan = setImmediate(() => this.scan());
    this.poll = setInterval(() => this.scan(), LINK_POLL_MS);
  }

  /** An interface appeared (the hotplug saw it): looked at now, not at the next poll. */
  linksChanged(): void {
    if (this.poll) this.scan();
  }

  /** Shutdown: every lease released, every address taken off. */
  async stop(): Promise<void> {
    clearImmediate(this.firstScan); // a shutdown right at boot brings no link up after it
    clearInterval(this.poll);
    this.poll = undefined;
    const all = [...this.managed.values()];
    this.managed.clear();
    await Promise.all(
      all.map(async ({ client, socket }) => {
        await client?.stop();
        socket?.close();
      }),
    );
  }

  status(): { interfaces: InterfaceStatus[]; routes: ReturnType<typeof readRoutes>; dns: string[]; ntp: string[] } {
    const addresses = networkInterfaces();
    const interfaces = readLinks(this.sysfs).map((link): InterfaceStatus => {
      const managed = this.managed.get(link.name);
      const lease = managed?.client?.active;
      return {
        name: link.name,
        mac: link.mac,
        mode: link.name === 'lo' ? 'loopback' : (managed?.config.mode ?? 'off'),
        state: managed?.client?.state ?? (link.up ? 'up' : 'down'),
        carrier: link.carrier,
        mtu: link.mtu,
        addresses: (addresses[link.name] ?? []).map((a) => a.cidr ?? a.address),
        ...(lease && { lease: this.leaseStatus(lease) }),
      };
    });
    return { interfaces, routes: readRoutes(), dns: this.dns, ntp: this.ntp };
  }

  private leaseStatus(lease: Lease): InterfaceStatus['lease'] {
    const left = lease.leaseS === Infinity ? null : Math.round((lease.obtainedAt + lease.leaseS * 1000 - monotonicMs()) / 1000);
    return { address: `${lease.address}/${lease.prefixLength}`, server: lease.server, router: lease.router, dns: lease.dns, ntp: lease.ntp, expiresInS: left };
  }

  /** A system call that may find its work already done (EEXIST) or undone (EADDRNOTAVAIL, ENODEV): that is fine. */
  private call(what: string, fn: () => void, harmless: string[] = []): void {
    try {
      fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (harmless.includes(code)) this.log.debug(`${what}: ${code}`);
      else this.log.warn(`${what}: ${(err as Error).message}`);
    }
  }

  private loopback(): void {
    this.call('lo: up', () => this.sys.linkSet('lo', true, 0));
    this.call('lo: 127.0.0.1/8', () => this.sys.addressAdd('lo', '127.0.0.1', 8), ['EEXIST']);
    // ::1 comes with IPv6 when lo goes up; a kernel without IPv6 has none to give.
    this.call('lo: ::1/128', () => this.sys.addressAdd('lo', '::1', 128), ['EEXIST', 'EAFNOSUPPORT']);
    this.log.info('lo: up, 127.0.0.1/8 ::1/128');
  }

  private configFor(link: Link): InterfaceConfig {
    return this.config.interfaces[link.name] ?? { mode: this.config.net === 'dhcp' && link.ethernet ? 'dhcp' : 'off' };
  }

  /** New links are set up, vanished ones forgotten, carrier changes passed on. */
  private scan(): void {
    const links = readLinks(this.sysfs).filter((link) => link.name !== 'lo');
    for (const link of links) {
      const managed = this.managed.get(link.name);
      if (!managed) this.setUp(link);
      else {
        if (managed.link.carrier !== link.carrier) managed.client?.carrier(link.carrier);
        managed.link = link;
      }
    }
    for (const [name, managed] of this.managed) {
      if (links.some((link) => link.name === name)) continue;
      this.log.info(`${name}: gone`);
      this.managed.delete(name);
      void managed.client?.stop({ release: false }).finally(() => managed.socket?.close());
      this.refresh();
    }
  }

  private setUp(link: Link): void {
    const config = this.configFor(link);
    const managed: Managed = { link, config };
    this.managed.set(link.name, managed);
    if (config.mode === 'off') return this.log.debug(`${link.name}: left alone (off)`);
    if (config.mode === 'static') {
      this.call(`${link.name}: up`, () => this.sys.linkSet(link.name, true, config.mtu ?? 0));
      this.call(`${link.name}: ${config.address}/${config.prefixLength}`, () => this.sys.addressAdd(link.name, config.address, config.prefixLength), ['EEXIST']);
      if (config.gateway) this.call(`${link.name}: default route`, () => this.sys.routeAdd(link.name, '0.0.0.0', 0, config.gateway!), ['EEXIST']);
      this.log.info(`${link.name}: static ${config.address}/${config.prefixLength}${config.gateway ? ` via ${config.gateway}` : ''}`);
      return this.refresh();
    }
    this.call(`${link.name}: up`, () => this.sys.linkSet(link.name, true, 0));
    const client = new DhcpClient(link.name, link.mac, this.config.hostname, {
      send: (msg, to) => managed.socket?.send(msg, to),
      configure: (lease, previous) => this.configure(link.name, lease, previous),
      deconfigure: (lease) => this.deconfigure(link.name, lease),
      // The lease clock must not jump when SNTP sets the time.
      now: monotonicMs,
      after,
      random: Math.random,
    }, this.log);
    try {
      managed.socket = openDhcpSocket(this.sys, link.name, (msg) => client.receive(msg), this.log);
    } catch (err) {
      return this.log.warn(`${link.name}: no DHCP: ${(err as Error).message}`);
    }
    managed.client = client;
    // Right after going up a link may not have its carrier yet: the next scan passes it on.
    managed.link = readLink(this.sysfs, link.name);
    client.start(managed.link.carrier);
  }

  private configure(ifname: string, lease: Lease, previous: Lease | undefined): void {
    if (previous && previous.address !== lease.address) this.deconfigure(ifname, previous, false);
    if (previous?.address !== lease.address) {
      this.call(`${ifname}: ${lease.address}/${lease.prefixLength}`, () => this.sys.addressAdd(ifname, lease.address, lease.prefixLength), ['EEXIST']);
    }
    if (lease.mtu) this.call(`${ifname}: mtu ${lease.mtu}`, () => this.sys.linkSet(ifname, true, lease.mtu!));
    if (lease.router) this.call(`${ifname}: default route via ${lease.router}`, () => this.sys.routeAdd(ifname, '0.0.0.0', 0, lease.router!), ['EEXIST']);
    this.refresh();
  }

  /** Taking the address off also takes the routes through it. */
  private deconfigure(ifname: string, lease: Lease, refresh = true): void {
    this.call(`${ifname}: removing ${lease.address}`, () => this.sys.addressDelete(ifname, lease.address, lease.prefixLength), ['EADDRNOTAVAIL', 'ENODEV']);
    if (refresh) this.refresh();
  }

  /** Name and time servers follow the leases, unless the command line names them. */
  private refresh(): void {
    const leases = [...this.managed.values()].map((m) => m.client?.active).filter((l): l is Lease => !!l);
    const statics = [...this.managed.values()].flatMap((m) => (m.config.mode === 'static' ? m.config.dns : []));
    const dns = this.config.dns.length ? [...this.config.dns] : unique([...statics, ...leases.flatMap((l) => l.dns)]);
    const search = unique(leases.flatMap((l) => (l.domain ? [l.domain] : [])));
    if (this.resolver.update(dns, search)) this.log.info(`dns: ${dns.length ? dns.join(' ') : 'no servers'}${search.length ? ` (search ${search.join(' ')})` : ''}`);
    this.dns = dns;
    const ntp = this.config.ntp === 'off' ? [] : this.config.ntp.length ? [...this.config.ntp] : unique(leases.flatMap((l) => l.ntp));
    if (ntp.join() !== this.ntp.join()) {
      this.ntp = ntp;
      this.onNtpServers(ntp);
    }
  }
}
