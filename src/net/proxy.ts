// Proxies and private CAs for every user: nodeos.proxy= and nodeos.no_proxy=
// on the command line, or HTTP_PROXY=, HTTPS_PROXY=, NO_PROXY= lines in
// .nodeos/environment on the users partition (the command line wins); a CA
// bundle at .nodeos/ca.pem is copied where every user can read it and named
// by NODE_EXTRA_CA_CERTS, which Node (and so npm) adds to its own roots.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config';
import type { Log } from '../log';
import { NET_DIR } from './resolver';

export const PROXY_KEYS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'] as const;
type ProxyKey = (typeof PROXY_KEYS)[number];

/** KEY=VALUE lines (# comments, blank lines); only the proxy keys are taken. */
export function parseEnvironmentFile(text: string): { env: Partial<Record<ProxyKey, string>>; problems: string[] } {
  const env: Partial<Record<ProxyKey, string>> = {};
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const match = /^([A-Za-z_]+)=(.*)$/.exec(line);
    const key = match?.[1].toUpperCase() as ProxyKey | undefined;
    if (!match || !PROXY_KEYS.includes(key!)) return void problems.push(`line ${i + 1}: expected ${PROXY_KEYS.join('=, ')}=, got ${JSON.stringify(line.slice(0, 40))}`);
    env[key!] = match[2].replace(/^"(.*)"$/, '$1');
  });
  return { env, problems };
}

/** The variables every user's processes get; both spellings, as tools differ in which they read. */
export function proxyEnvironment(config: Config, settingsDir: string | undefined, log: Log, netDir = NET_DIR): Record<string, string> {
  let file: Partial<Record<ProxyKey, string>> = {};
  if (settingsDir) {
    try {
      const parsed = parseEnvironmentFile(readFileSync(join(settingsDir, 'environment'), 'utf8'));
      for (const problem of parsed.problems) log.warn(`${join(settingsDir, 'environment')}: ${problem}`);
      file = parsed.env;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`${join(settingsDir, 'environment')}: ${(err as Error).message}`);
    }
  }
  const values: Partial<Record<ProxyKey, string>> = {
    ...file,
    ...(config.proxy && { HTTP_PROXY: config.proxy, HTTPS_PROXY: config.proxy }),
    ...(config.noProxy && { NO_PROXY: config.noProxy }),
  };
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) Object.assign(env, { [key]: value, [key.toLowerCase()]: value });
  // npm reads these itself; Node's own http, https and fetch only when asked to (Node ≥ 24.5).
  if (values.HTTP_PROXY || values.HTTPS_PROXY) env.NODE_USE_ENV_PROXY = '1';
  if (settingsDir) {
    try {
      copyFileSync(join(settingsDir, 'ca.pem'), join(netDir, 'ca.pem'));
      env.NODE_EXTRA_CA_CERTS = join(netDir, 'ca.pem');
      log.info(`extra CA certificates from ${join(settingsDir, 'ca.pem')}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`${join(settingsDir, 'ca.pem')}: ${(err as Error).message}`);
    }
  }
  if (values.HTTPS_PROXY || values.HTTP_PROXY) log.info(`users get proxy ${values.HTTPS_PROXY ?? values.HTTP_PROXY}${values.NO_PROXY ? ` (not for ${values.NO_PROXY})` : ''}`);
  return env;
}
