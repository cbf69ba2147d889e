// `nodeos build --app PKG`: an npm package (a folder, or a spec npm
// resolves) becomes the users partition of an appliance: one unprivileged
// user whose home is the package, its dependencies installed at build time
// for the target, and whose init starts it with node directly (no npm at run
// time). Settings come from the package.json's "nodeos" key and an
// environment file, checked here so a mistake fails the build, not the device.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize } from 'node:path';
import { APP_MARKER, DEFAULT_ACCOUNT_POLICY, SETTINGS_DIR } from '../src/users';
import { parseHealthCheck, type HealthCheck } from '../src/health';
import { exec, execAsync } from './exec';
import { npmPackage } from './npm';
import type { Owner } from './users-image';

export interface AppSettings {
  user: string;
  uid: number;
  gid: number;
  env: Record<string, string>;
  /** TCP ports it listens on (the README's --forward, the dashboard). */
  ports: number[];
  health?: HealthCheck;
  memoryMax?: string;
  pidsMax?: number;
}

export interface AppPackage {
  name: string;
  version?: string;
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
  nodeos?: unknown;
}

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The first uid of ordinary users; below are the system's (PID 1 refuses them: src/users.ts). */
export const APP_UID = DEFAULT_ACCOUNT_POLICY.uidMin;

/** KEY=VALUE lines; # comments and blank lines skipped; quotes around a value removed. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match || !ENV_NAME.test(match[1])) throw new Error(`env file line ${i + 1}: expected KEY=VALUE, got ${JSON.stringify(raw)}`);
    env[match[1]] = match[2].replace(/^(["'])(.*)\1$/, '$2');
  });
  return env;
}

/** The "nodeos" key of package.json, checked: every problem named at once. */
export function appSettings(pkg: AppPackage, envFile: Record<string, string> = {}): AppSettings {
  const raw = (pkg.nodeos ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  const known = ['user', 'uid', 'gid', 'env', 'ports', 'health', 'memoryMax', 'pidsMax'];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) problems.push('"nodeos" must be an object');
  for (const key of Object.keys(raw ?? {})) if (!known.includes(key)) problems.push(`nodeos.${key}: unknown (known: ${known.join(', ')})`);
  const user = raw.user ?? 'app';
  if (typeof user !== 'string' || !USER.test(user) || user === 'root') problems.push(`nodeos.user: ${JSON.stringify(user)} is not an ordinary user name (lower case, not root)`);
  const id = (key: 'uid' | 'gid', fallback: number) => {
    const value = raw[key] ?? fallback;
    if (!Number.isInteger(value) || (value as number) < APP_UID || (value as number) > 60000) problems.push(`nodeos.${key}: ${JSON.stringify(value)} must be an integer from ${APP_UID} to 60000`);
    return value as number;
  };
  const uid = id('uid', APP_UID);
  const gid = id('gid', uid);
  if (gid !== uid && !DEFAULT_ACCOUNT_POLICY.anyGid) problems.push(`nodeos.gid: ${gid} is not the uid (${uid}); a user runs with its own group unless booted with nodeos.user_gids=any`);
  const env = { ...(raw.env as Record<string, string> | undefined), ...envFile };
  if (raw.env !== undefined && (typeof raw.env !== 'object' || raw.env === null || Array.isArray(raw.env))) problems.push('nodeos.env: must be an object of strings');
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_NAME.test(key)) problems.push(`nodeos.env: ${JSON.stringify(key)} is not a variable name`);
    if (typeof value !== 'string') problems.push(`nodeos.env.${key}: must be a string`);
  }
  const ports = raw.ports ?? [];
  if (!Array.isArray(ports) || !ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)) problems.push('nodeos.ports: must be a list of port numbers');
  const { check: health, problems: healthProblems } = parseHealthCheck(raw.health, 'nodeos.health');
  problems.push(...healthProblems);
  if (raw.memoryMax !== undefined && !(typeof raw.memoryMax === 'string' && /^(max|\d+[KMG]?|\d{1,2}%|100%)$/.test(raw.memoryMax))) problems.push(`nodeos.memoryMax: ${JSON.stringify(raw.memoryMax)} is not a size (bytes with K/M/G, N%, max)`);
  if (raw.pidsMax !== undefined && !(Number.isInteger(raw.pidsMax) && (raw.pidsMax as number) >= 1)) problems.push(`nodeos.pidsMax: ${JSON.stringify(raw.pidsMax)} is not a count`);
  if (problems.length) throw new Error(`${pkg.name}: package.json:\n  ${problems.join('\n  ')}`);
  return {
    user: user as string,
    uid,
    gid,
    env,
    ports: ports as number[],
    ...(health && { health }),
    ...(raw.memoryMax !== undefined && { memoryMax: raw.memoryMax as string }),
    ...(raw.pidsMax !== undefined && { pidsMax: raw.pidsMax as number }),
  };
}

/** A path inside the package (no escaping it), normalized. */
function inside(file: string, what: string): string {
  const path = normalize(file).replace(/^\.\//, '');
  if (isAbsolute(path) || path.startsWith('..')) throw new Error(`${what}: ${JSON.stringify(file)} is outside the package`);
  return path;
}

/**
 * What `npm start` would run, as node's own argv: the package's bin (its
 * only one, or the one named after it), else a `node FILE …` start script,
 * else server.js (npm's default start). `exists` says whether a file is in
 * the package.
 */
export function startCommand(pkg: AppPackage, exists: (file: string) => boolean): string[] {
  const unscoped = pkg.name.replace(/^@[^/]+\//, '');
  let command: string[] | undefined;
  if (typeof pkg.bin === 'string') command = [inside(pkg.bin, 'bin')];
  else if (pkg.bin && Object.keys(pkg.bin).length) {
    const names = Object.keys(pkg.bin);
    const name = names.length === 1 ? names[0] : names.find((n) => n === unscoped);
    if (!name) throw new Error(`${pkg.name}: several bins (${names.join(', ')}) and none named ${unscoped}: which one starts the app?`);
    command = [inside(pkg.bin[name], `bin.${name}`)];
  } else if (pkg.scripts?.start) {
    const words = pkg.scripts.start.trim().split(/\s+/);
    if (words[0] !== 'node' || words.length < 2 || words.some((w) => /[|&;<>()$`\\"'*?]/.test(w)) || words[1].startsWith('-')) {
      throw new Error(`${pkg.name}: scripts.start ${JSON.stringify(pkg.scripts.start)} is not \`node FILE [ARGS]\`: an appliance runs its app without npm or a shell`);
    }
    command = [inside(words[1], 'scripts.start'), ...words.slice(2)];
  } else if (exists('server.js')) command = ['server.js'];
  if (!command) throw new Error(`${pkg.name}: nothing to start: no bin, no scripts.start, no server.js`);
  if (!exists(command[0])) throw new Error(`${pkg.name}: ${command[0]} (what starts it) is not in the package`);
  return command;
}

/**
 * The user's init: node itself, loading the app's file in this process with
 * its arguments and environment (import() takes CommonJS and ES modules).
 */
export function initScript(home: string, command: string[], env: Record<string, string>): string {
  const [file, ...args] = command;
  const path = join(home, file);
  return [
    '#!/bin/node',
    '// Written by nodeos build --app: starts the app without npm, as npm start would.',
    `Object.assign(process.env, ${JSON.stringify(env)});`,
    `process.argv.splice(1, process.argv.length, ${JSON.stringify(path)}, ...${JSON.stringify(args)});`,
    `import(${JSON.stringify(`file://${path}`)});`,
    '',
  ].join('\n');
}

/** The package as a folder: the folder given, or what npm packs for the spec. */
async function packageFolder(spec: string, work: string, npmDir: string, registry?: string): Promise<string> {
  if (existsSync(join(spec, 'package.json'))) return spec;
  const npm = join(npmDir, 'bin', 'npm-cli.js');
  const packed = await execAsync('npm pack', process.execPath, [npm, 'pack', '--silent', '--pack-destination', work, spec, ...(registry ? [`--registry=${registry}`] : [])], { cwd: work });
  const tarball = packed.trim().split('\n').pop()!;
  mkdirSync(join(work, 'unpacked'));
  exec(`extract ${spec}`, 'tar', ['-xzf', join(work, tarball), '-C', join(work, 'unpacked')]);
  return join(work, 'unpacked', 'package');
}

/**
 * The users tree of an appliance in a new folder: HOME=/home/USER is the
 * package (its files, its init, ~/.nodeos/config.json with its limits and
 * health check); `owners` gives it the app's uid and gid in the image.
 * Dependencies are installed later, with every home's (build/user-deps.ts).
 */
export async function appUsersTree(spec: string, options: { envFile?: string; registry?: string; withRoot?: boolean } = {}): Promise<{ dir: string; owners: Record<string, Owner>; settings: AppSettings; command: string[] }> {
  const work = mkdtempSync(join(tmpdir(), 'nodeos-app-'));
  const source = await packageFolder(spec, work, await npmPackage(), options.registry);
  const pkg = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as AppPackage;
  const settings = appSettings(pkg, options.envFile ? parseEnvFile(readFileSync(options.envFile, 'utf8')) : {});
  const command = startCommand(pkg, (file) => existsSync(join(source, file)));
  if (existsSync(join(source, 'init'))) throw new Error(`${pkg.name}: has a file named init, which is the name of the user's start program`);
  const dir = join(work, 'users');
  const home = join(dir, settings.user);
  mkdirSync(dir);
  cpSync(source, home, { recursive: true, filter: (path) => !path.includes('/node_modules') });
  const homePath = `/home/${settings.user}`;
  writeFileSync(join(home, 'init'), initScript(homePath, command, settings.env), { mode: 0o755 });
  mkdirSync(join(home, SETTINGS_DIR), { recursive: true });
  const config = { ...(settings.memoryMax && { memoryMax: settings.memoryMax }), ...(settings.pidsMax && { pidsMax: settings.pidsMax }), ...(settings.health && { health: settings.health }) };
  writeFileSync(join(home, SETTINGS_DIR, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  chmodSync(home, 0o700);
  // The marker that makes the consoles show the dashboard, in the system's own folder.
  mkdirSync(join(dir, SETTINGS_DIR), { mode: 0o700 });
  writeFileSync(join(dir, SETTINGS_DIR, APP_MARKER), `${JSON.stringify({ name: pkg.name, version: pkg.version, user: settings.user, ports: settings.ports, command }, null, 2)}\n`);
  // No root unless asked for (--password root): a home for root's password, no init.
  if (options.withRoot) mkdirSync(join(dir, 'root'), { mode: 0o700 });
  const owners: Record<string, Owner> = { [settings.user]: { uid: settings.uid, gid: settings.gid }, ...(options.withRoot && { root: { uid: 0, gid: 0 } }) };
  return { dir, owners, settings, command };
}
