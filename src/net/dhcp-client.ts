// One interface's DHCPv4 client as a state machine (RFC 2131 §4.4), pure: the
// socket, the interface and the clock are hooks, so tests drive it on a fake
// clock. Each state change is one log line.
//
//   selecting ─OFFER─▶ requesting ─ACK─▶ bound ─T1─▶ renewing ─T2─▶ rebinding ─expiry─▶ selecting
//        ▲   (retries back off 4 s → 64 s)  ▲    └────────ACK────────┘                      │
//        └──────────── NAK ─────────────────┼───────────────────────────────────────────────┘
//   carrier lost ─▶ no-carrier ─carrier back─▶ rebooting (asks for the old address) ─ACK─▶ bound
//   stop(): RELEASE when bound, address dropped ─▶ stopped
import { BROADCAST_FLAG, prefixLength, REQUESTED_PARAMETERS, type DhcpMessage, type MessageType } from './dhcp-packet';
import type { Log } from '../log';

export type DhcpState = 'stopped' | 'selecting' | 'requesting' | 'bound' | 'renewing' | 'rebinding' | 'rebooting' | 'no-carrier';

export interface Lease {
  address: string;
  prefixLength: number;
  router?: string;
  dns: string[];
  domain?: string;
  ntp: string[];
  mtu?: number;
  /** The server that granted it (option 54). */
  server: string;
  /** Seconds, as granted; Infinity for an infinite lease. */
  leaseS: number;
  renewS: number;
  rebindS: number;
  /** When it was (last) acknowledged, ms since the epoch. */
  obtainedAt: number;
}

export interface DhcpHooks {
  /** Sends to 255.255.255.255 or to one server's address, port 67; settles once it has left. */
  send(msg: DhcpMessage, to: string): void | Promise<void>;
  /** Puts the lease on the interface (replacing `previous` when the address changed). */
  configure(lease: Lease, previous: Lease | undefined): void;
  /** Takes the lease's address (and its routes) off the interface. */
  deconfigure(lease: Lease): void;
  now(): number;
  after(ms: number, fn: () => void): () => void;
  /** A number in [0, 1): transaction ids and retry jitter. */
  random(): number;
}

export const DHCP_POLICY = {
  firstRetryMs: 4000,
  maxRetryMs: 64_000,
  /** REQUESTs for an offer before starting over. */
  requestTries: 4,
  /** REQUESTs for the old address after carrier returns, before starting over. */
  rebootTries: 2,
  /** RFC 2131: renewal retries wait half the time left, at least this. */
  renewRetryMinMs: 60_000,
};

export const BROADCAST = '255.255.255.255';
const ANY = '0.0.0.0';
const INFINITE = 0xffffffff;

const describe = (l: Lease) =>
  `${l.address}/${l.prefixLength} from ${l.server}, lease ${l.leaseS === Infinity ? 'infinite' : `${l.leaseS} s`}` +
  `${l.router ? `, router ${l.router}` : ''}${l.dns.length ? `, dns ${l.dns.join(' ')}` : ''}`;

export class DhcpClient {
  state: DhcpState = 'stopped';
  /** The current lease (also kept while the carrier is gone, to ask for it again). */
  lease: Lease | undefined;
  private offer: DhcpMessage | undefined;
  private xid = 0;
  private tries = 0;
  private startedAt = 0;
  private cancelRetry: (() => void) | undefined;
  private leaseTimers: (() => void)[] = [];

  constructor(
    readonly ifname: string,
    private readonly mac: string,
    private readonly hostname: string,
    private readonly hooks: DhcpHooks,
    private readonly log: Log,
  ) {}

  start(carrier: boolean): void {
    if (carrier) this.discover();
    else this.setState('no-carrier', 'waiting for carrier');
  }

  /** The lease while it is on the interface. */
  get active(): Lease | undefined {
    return this.state === 'bound' || this.state === 'renewing' || this.state === 'rebinding' ? this.lease : undefined;
  }

  carrier(up: boolean): void {
    if (!up && this.state !== 'no-carrier' && this.state !== 'stopped') {
      const active = this.active;
      this.cancel();
      this.setState('no-carrier', 'carrier lost');
      if (active) this.hooks.deconfigure(active);
    } else if (up && this.state === 'no-carrier') {
      if (this.lease && this.remainingMs(this.lease.leaseS) > 0) this.reboot();
      else this.discover();
    }
  }

  /** Gives the lease back (RELEASE, from the address: it goes once the packet has left) and stays stopped. */
  async stop({ release = true } = {}): Promise<void> {
    const active = this.active;
    this.cancel();
    this.lease = undefined;
    this.setState('stopped', active && release ? `releasing ${active.address}` : 'stopped');
    if (!active) return;
    if (release) await this.hooks.send(this.message('RELEASE', { ciaddr: active.address, serverId: active.server }), active.server);
    this.hooks.deconfigure(active);
  }

  /** A message from the socket: replies to our transaction only. */
  receive(msg: DhcpMessage): void {
    if (msg.op !== 'reply' || msg.xid !== this.xid || msg.chaddr !== this.mac) return;
    if (this.state === 'selecting' && msg.type === 'OFFER' && msg.yiaddr !== ANY && msg.serverId) {
      this.offer = msg;
      this.tries = 0;
      this.setState('requesting', `offer of ${msg.yiaddr} from ${msg.serverId}`);
      this.request();
    } else if (['requesting', 'rebooting', 'renewing', 'rebinding'].includes(this.state)) {
      if (this.state === 'requesting' && msg.serverId !== this.offer!.serverId) return;
      if (msg.type === 'ACK' && msg.yiaddr !== ANY) this.bind(msg);
      else if (msg.type === 'NAK') this.refused(msg);
    }
  }

  private setState(state: DhcpState, why: string): void {
    this.state = state;
    this.log.info(`${this.ifname}: ${state === 'bound' ? '' : `${state}: `}${why}`);
  }

  private cancel(): void {
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    for (const cancel of this.leaseTimers.splice(0)) cancel();
  }

  private retry(ms: number, fn: () => void): void {
    this.cancelRetry?.();
    this.cancelRetry = this.hooks.after(ms, fn);
  }

  /** Exponential backoff with ±1 s of jitter (RFC 2131 §4.1). */
  private backoffMs(): number {
    const base = Math.min(DHCP_POLICY.maxRetryMs, DHCP_POLICY.firstRetryMs * 2 ** this.tries);
    return Math.max(1000, base + Math.round((this.hooks.random() * 2 - 1) * 1000));
  }

  private remainingMs(seconds: number): number {
    return seconds === Infinity ? Infinity : this.lease!.obtainedAt + seconds * 1000 - this.hooks.now();
  }

  private newTransaction(): void {
    this.xid = Math.floor(this.hooks.random() * 0x1_0000_0000) >>> 0;
    this.tries = 0;
    this.startedAt = this.hooks.now();
  }

  private message(type: MessageType, fields: Partial<DhcpMessage> = {}): DhcpMessage {
    return {
      op: 'request',
      type,
      xid: this.xid,
      secs: Math.min(0xffff, Math.floor((this.hooks.now() - this.startedAt) / 1000)),
      flags: 0,
      ciaddr: ANY,
      yiaddr: ANY,
      siaddr: ANY,
      giaddr: ANY,
      chaddr: this.mac,
      clientId: Buffer.from([1, ...this.mac.split(':').map((h) => parseInt(h, 16))]),
      ...(type === 'RELEASE' ? {} : { hostname: this.hostname, parameters: REQUESTED_PARAMETERS, maxSize: 1500 }),
      ...fields,
    };
  }

  /** Broadcasts `msg()` now and again with backoff; after `tries` sends, starts over with a DISCOVER. */
  private broadcastWithBackoff(msg: () => DhcpMessage, tries = Infinity): void {
    const attempt = () => {
      if (this.tries >= tries) return this.discover();
      this.hooks.send(msg(), BROADCAST);
      const delay = this.backoffMs();
      this.tries++;
      this.retry(delay, attempt);
    };
    attempt();
  }

  private discover(): void {
    this.cancel();
    this.newTransaction();
    this.setState('selecting', 'looking for a DHCP server');
    this.broadcastWithBackoff(() => {
      if (this.tries === 3) this.log.warn(`${this.ifname}: no DHCP server has answered yet; still asking, every ${DHCP_POLICY.maxRetryMs / 1000} s at most`);
      return this.message('DISCOVER', { flags: BROADCAST_FLAG });
    });
  }

  private request(): void {
    const offer = this.offer!;
    this.broadcastWithBackoff(() => this.message('REQUEST', { flags: BROADCAST_FLAG, requestedIp: offer.yiaddr, serverId: offer.serverId }), DHCP_POLICY.requestTries);
  }

  /** INIT-REBOOT: ask for the address we had, without a server id. */
  private reboot(): void {
    this.newTransaction();
    this.setState('rebooting', `carrier back; asking again for ${this.lease!.address}`);
    const address = this.lease!.address;
    this.broadcastWithBackoff(() => this.message('REQUEST', { flags: BROADCAST_FLAG, requestedIp: address }), DHCP_POLICY.rebootTries);
  }

  private bind(ack: DhcpMessage): void {
    const previous = this.active;
    const renewal = previous?.address === ack.yiaddr;
    const leaseS = ack.leaseTime === INFINITE ? Infinity : (ack.leaseTime ?? 3600);
    let renewS = ack.renewalTime ?? leaseS * 0.5;
    let rebindS = ack.rebindingTime ?? leaseS * 0.875;
    if (!(rebindS < leaseS)) rebindS = leaseS * 0.875;
    if (!(renewS < rebindS)) renewS = rebindS * (4 / 7);
    const lease: Lease = {
      address: ack.yiaddr,
      prefixLength: (ack.subnetMask && prefixLength(ack.subnetMask)) || 24,
      router: ack.routers?.[0],
      dns: ack.dns ?? [],
      domain: ack.domain,
      ntp: ack.ntp ?? [],
      mtu: ack.mtu && ack.mtu >= 576 ? ack.mtu : undefined,
      server: ack.serverId ?? this.lease?.server ?? this.offer?.serverId ?? ANY,
      leaseS,
      renewS,
      rebindS,
      obtainedAt: this.hooks.now(),
    };
    this.cancel();
    this.lease = lease;
    this.setState('bound', `${renewal ? 'renewed' : 'bound'} ${describe(lease)}`);
    this.hooks.configure(lease, previous);
    if (leaseS === Infinity) return;
    this.leaseTimers = [
      this.hooks.after(renewS * 1000, () => this.renew()),
      this.hooks.after(rebindS * 1000, () => this.rebind()),
      this.hooks.after(leaseS * 1000, () => this.expire()),
    ];
  }

  private renew(): void {
    this.newTransaction();
    this.setState('renewing', `asking ${this.lease!.server} to extend ${this.lease!.address}`);
    const send = () => {
      this.hooks.send(this.message('REQUEST', { ciaddr: this.lease!.address }), this.lease!.server);
      this.retry(Math.max(DHCP_POLICY.renewRetryMinMs, this.remainingMs(this.lease!.rebindS) / 2), send);
    };
    send();
  }

  private rebind(): void {
    this.newTransaction();
    this.setState('rebinding', `${this.lease!.server} did not answer; asking any server to extend ${this.lease!.address}`);
    const send = () => {
      this.hooks.send(this.message('REQUEST', { ciaddr: this.lease!.address }), BROADCAST);
      this.retry(Math.max(DHCP_POLICY.renewRetryMinMs, this.remainingMs(this.lease!.leaseS) / 2), send);
    };
    send();
  }

  private expire(): void {
    const lease = this.lease!;
    this.cancel();
    this.lease = undefined;
    this.state = 'selecting';
    this.log.warn(`${this.ifname}: lease of ${lease.address} expired; address dropped`);
    this.hooks.deconfigure(lease);
    this.discover();
  }

  private refused(nak: DhcpMessage): void {
    const active = this.active;
    this.cancel();
    this.lease = undefined;
    this.setState('selecting', `NAK from ${nak.serverId ?? 'a server'}${nak.message ? ` (${nak.message})` : ''}; starting over shortly`);
    if (active) this.hooks.deconfigure(active);
    this.retry(DHCP_POLICY.firstRetryMs, () => this.discover());
  }
}
