// The OCI image under runc, as `docker run` would start it: the archive's
// layout unpacked by umoci into a bundle, given the capabilities Docker grants
// by default, /home bind-mounted. The container tier and the container
// benchmark run it this way.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Session } from './session';

export const run = promisify(execFile);

/** Docker's default capabilities (moby's oci/caps/defaults.go). */
export const DOCKER_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'];

export interface BundleOptions {
  /** Host folder bind-mounted at /home. */
  home?: string;
  /** Host files bind-mounted at container paths. */
  files?: Record<string, string>;
  extraCaps?: string[];
  env?: string[];
  /** Replaces the image's entrypoint. */
  args?: string[];
}

/** The archive's OCI layout unpacked by umoci into DIR/bundle, run as `docker run` would. */
export async function runcBundle(archive: string, dir: string, tag: string, options: BundleOptions = {}): Promise<string> {
  const layout = join(dir, 'layout');
  const bundle = join(dir, 'bundle');
  mkdirSync(layout, { recursive: true });
  await run('tar', ['-xf', archive, '-C', layout]);
  await run('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
  const path = join(bundle, 'config.json');
  const config = JSON.parse(readFileSync(path, 'utf8'));
  const caps = [...DOCKER_CAPS, ...(options.extraCaps ?? [])].map((c) => `CAP_${c}`);
  config.process.terminal = false;
  config.process.noNewPrivileges = false;
  config.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
  config.process.env.push(...(options.env ?? []));
  if (options.args) config.process.args = options.args;
  const bind = (source: string, destination: string) => ({ destination, type: 'bind', source, options: ['rbind', 'rw'] });
  if (options.home) config.mounts.push(bind(options.home, '/home'));
  for (const [destination, source] of Object.entries(options.files ?? {})) config.mounts.push(bind(source, destination));
  writeFileSync(path, JSON.stringify(config, null, 2));
  return bundle;
}

/** `runc run` in the foreground: PID 1's stdout is the session's output. */
export function runcRun(bundle: string, id: string): Session {
  return new Session(spawn('runc', ['run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] }));
}
