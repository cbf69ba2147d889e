// Name resolution for the whole system: /etc/resolv.conf and /etc/hosts are
// symlinks in the read-only system into NET_DIR, a tmpfs folder that PID 1
// rewrites (atomically) and every user sees read-only. Node reads
// resolv.conf once, when its resolver is made: PID 1 tells its own with
// setServers, and requires node:dns only once there is something to tell.
import { mkdirSync } from 'node:fs';
import { writeAtomic } from '../atomic-write';
import { dns } from '../builtins';
import { join } from 'node:path';

/** Written by PID 1, shown read-only to every user. */
export const NET_DIR = '/run/net';

export function resolvConf(servers: readonly string[], search: readonly string[]): string {
  const lines = ['# written by NodeOS PID 1: DHCP leases, nodeos.dns= or nodeos.net.IF=…,dns=', ...servers.map((s) => `nameserver ${s}`)];
  if (search.length) lines.push(`search ${search.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

export function hostsFile(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`;
}

export class Resolver {
  private current = '';
  /** PID 1's own resolver has been given servers (until then it has loopback, as resolv.conf had none). */
  private told = false;

  constructor(private readonly dir = NET_DIR) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  }

  writeHosts(hostname: string): void {
    writeAtomic(join(this.dir, 'hosts'), hostsFile(hostname));
  }

  /** Rewrites resolv.conf when the servers or domains changed; true when it did. */
  update(servers: readonly string[], search: readonly string[]): boolean {
    const text = resolvConf(servers, search);
    if (text === this.current) return false;
    this.current = text;
    writeAtomic(join(this.dir, 'resolv.conf'), text);
    if (!servers.length && !this.told) return true; // nothing to tell: node:dns stays off the boot path
    // An empty list would leave Node's resolver on its stale servers; loopback answers nothing, quickly.
    dns().setServers(servers.length ? [...servers] : ['127.0.0.1']);
    this.told = true;
    return true;
  }
}
