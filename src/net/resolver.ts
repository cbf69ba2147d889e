// Name resolution for the whole system: /etc/resolv.conf and /etc/hosts are
// symlinks in the read-only system into NET_DIR, a tmpfs folder that PID 1
// rewrites (atomically) and every user sees read-only. Node reads
// resolv.conf once, when its resolver is made (node:dns or node:dns/promises
// loading): a resolver PID 1 already has is told with setServers; none made
// yet reads the new file when something loads it (the REPL's `dns`), so
// PID 1 never loads node:dns for this (0.4 MB on the host, held for as long
// as PID 1 runs).
import { mkdirSync } from 'node:fs';
import { writeAtomic } from '../atomic-write';
import { dns, loadedBuiltins } from '../builtins';
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

/** Whether this process has Node's resolver, made (resolv.conf read) when node:dns or node:dns/promises loaded. */
export const nodeResolverMade = (): boolean => loadedBuiltins().some((name) => name === 'dns' || name === 'dns/promises');

export class Resolver {
  private current = '';

  constructor(
    private readonly dir = NET_DIR,
    private readonly resolverMade = nodeResolverMade,
  ) {
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
    // An empty list would leave Node's resolver on its stale servers; loopback answers nothing, quickly.
    if (this.resolverMade()) dns().setServers(servers.length ? [...servers] : ['127.0.0.1']);
    return true;
  }
}
