// Node's built-in modules that PID 1 loads at their first use rather than
// with its bundle. Each costs its first load on an emulated CPU, and most
// pull in others: tty, net and child_process need node:stream (20 modules,
// 0.2-0.36 s under TCG), child_process needs dgram. None of them is on
// the path to ready: the consoles' streams, the REPL, the network's leases,
// the clock's servers, SSH and the users' launchers' complaints all come
// after it, and the boot's e2fsck runs through the addon. PID 1's
// own code imports these through here (a type import is free), so a
// top-level `import … from 'node:net'` would not slip back into the boot.
//
// PID 1's own modules are all imported, none require()d: a require() of one
// (SSH's server, the dashboard) made esbuild wrap it and everything it
// imports (26 modules) in functions V8 compiled lazily at boot, outside
// the compile cache, which holds only what the bundle's compile made.
// Imported, their top levels are the bundle's, in the cache (README: Boot
// speed).
type Net = typeof import('node:net');

export const childProcess = () => require('node:child_process') as typeof import('node:child_process');
export const crypto = () => require('node:crypto') as typeof import('node:crypto');
export const dgram = () => require('node:dgram') as typeof import('node:dgram');
export const dns = () => require('node:dns') as typeof import('node:dns');
export const http = () => require('node:http') as typeof import('node:http');
export const net = () => require('node:net') as Net;
export const repl = () => require('node:repl') as typeof import('node:repl');
export const tty = () => require('node:tty') as typeof import('node:tty');

/** net's address checks, without loading net until an address is checked. */
export const isIP: Net['isIP'] = (input) => net().isIP(input);
export const isIPv4: Net['isIPv4'] = (input) => net().isIPv4(input);

/** The public built-in modules in a moduleLoadList (this process's by default), in load order: at ready, what the boot path cost (a debug line). */
export function loadedBuiltins(moduleLoadList: readonly string[] = (process as unknown as { moduleLoadList: string[] }).moduleLoadList): string[] {
  const prefix = 'NativeModule ';
  return moduleLoadList.filter((m) => m.startsWith(prefix) && !m.startsWith(`${prefix}internal/`)).map((m) => m.slice(prefix.length));
}
