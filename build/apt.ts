// Debian packages, fetched the way a user can without root: apt-cache to
// resolve a meta package, apt-get download into the cache. Packages outside
// the host's sources (non-free firmware) come through a private apt
// configuration under the cache; the host's apt is never changed.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exec, progress } from './exec';
import { CACHE } from './paths';
import { archInfo, isHostArch } from './versions';

/** Where an arch's packages come from: the host's apt for its own arch, a private configuration for another. */
export const aptFor = (arch: string): PrivateApt | undefined => (isHostArch(arch) ? undefined : privateApt(['main', 'non-free-firmware'], archInfo(arch).debArch));

/** The package a meta package depends on whose name starts with `prefix`. */
export function parseDepends(output: string, prefix: string): string | undefined {
  return new RegExp(`Depends:\\s*(${prefix}\\S+)`).exec(output)?.[1];
}

/**
 * What apt-cache answers, kept (under the cache) until the package lists it
 * read change: each call costs about a second, and every build asks several
 * times. The lists folder's mtime moves with every apt-get update.
 */
function aptCache(args: readonly string[], env: NodeJS.ProcessEnv): string {
  const lists = env.APT_CONFIG ? join(dirname(env.APT_CONFIG), 'lists') : '/var/lib/apt/lists';
  const stamp = existsSync(lists) ? statSync(lists).mtimeMs : 0;
  const file = join(CACHE, 'apt', 'answers.json');
  const key = JSON.stringify([env.APT_CONFIG ?? '', ...args]);
  let answers: Record<string, { stamp: number; output: string }> = {};
  try {
    answers = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // None yet, or unreadable: asked again.
  }
  if (answers[key]?.stamp === stamp) return answers[key].output;
  const output = exec('apt-cache', 'apt-cache', args, { env });
  answers[key] = { stamp, output };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.${process.pid}`, JSON.stringify(answers)); // builds may run side by side
  renameSync(`${file}.${process.pid}`, file);
  return output;
}

/** A Debian package as apt-get downloads it: NAME_VERSION_ARCH.deb. */
export interface DebPackage {
  name: string;
  version: string;
  /** Debian's name for it (amd64, arm64, all): the same name and version exist for each. */
  arch: string;
}

/** e.g. linux-image-cloud-amd64 → linux-image-6.1.0-56-cloud-amd64 and its candidate version (through `apt`'s configuration when given). Throws without apt-cache. */
export function resolvePackage(meta: string, prefix: string, apt?: PrivateApt): DebPackage | undefined {
  const env = apt?.env ?? process.env;
  const name = parseDepends(aptCache(['depends', meta], env), prefix);
  return name ? candidate(name, env) : undefined;
}

/** A package's candidate version, through the host's apt or a private configuration's environment. */
export function candidate(name: string, env: NodeJS.ProcessEnv = process.env): DebPackage | undefined {
  const show = aptCache(['show', '--no-all-versions', name], env);
  const [version, arch] = [/^Version:\s*(\S+)/m.exec(show)?.[1], /^Architecture:\s*(\S+)/m.exec(show)?.[1]];
  return version && arch ? { name, version, arch } : undefined;
}

/** The .deb of that exact version, downloaded into the cache once (through `apt`'s configuration when given). */
export async function downloadDeb(pkg: DebPackage, apt?: PrivateApt): Promise<string> {
  const downloads = join(CACHE, 'downloads');
  mkdirSync(downloads, { recursive: true });
  // apt-get writes ':' in versions as %3a.
  const file = `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_${pkg.arch}.deb`;
  const find = () => readdirSync(downloads).find((f) => f === file);
  if (!find()) {
    await progress(`fetching ${pkg.name} ${pkg.version} from Debian`, () => exec('apt-get download', 'apt-get', ['download', `${pkg.name}=${pkg.version}`], { cwd: downloads, env: apt?.env ?? process.env }));
  }
  const deb = find();
  if (!deb) throw new Error(`apt-get download: no ${pkg.name} ${pkg.version} .deb in ${downloads}`);
  return join(downloads, deb);
}

export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
export const DEBIAN_SUITE = 'bookworm';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** Package lists older than this are fetched again. */
const LISTS_MAX_AGE_MS = 24 * 3600 * 1000;

export interface PrivateApt {
  /** process.env with APT_CONFIG pointing at the private configuration. */
  env: NodeJS.ProcessEnv;
  /** apt-cache / apt-get through it. */
  resolve(name: string): DebPackage | undefined;
}

/**
 * An apt configuration of our own for Debian's `components` (lists fetched at
 * most daily), under the cache; for another architecture than the host's
 * when `debArch` names one (no `dpkg --add-architecture` on the host).
 */
export function privateApt(components: readonly string[], debArch?: string): PrivateApt {
  const dir = join(CACHE, 'apt', [components.join('+'), ...(debArch ? [debArch] : [])].join('-'));
  const config = join(dir, 'apt.conf');
  if (!existsSync(KEYRING)) throw new Error(`apt: no ${KEYRING} (apt-get install debian-archive-keyring)`);
  for (const sub of ['lists/partial', 'archives/partial', 'sources.list.d']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'sources.list'), `deb [signed-by=${KEYRING}] ${DEBIAN_MIRROR} ${DEBIAN_SUITE} ${components.join(' ')}\n`);
  writeFileSync(
    config,
    [
      `Dir::Etc::SourceList "${join(dir, 'sources.list')}";`,
      `Dir::Etc::SourceParts "${join(dir, 'sources.list.d')}";`,
      `Dir::State::Lists "${join(dir, 'lists')}";`,
      `Dir::Cache "${dir}";`,
      `Dir::Cache::Archives "${join(dir, 'archives')}";`,
      ...(debArch ? [`APT::Architecture "${debArch}";`, `APT::Architectures { "${debArch}"; };`] : []),
      '',
    ].join('\n'),
  );
  const env = { ...process.env, APT_CONFIG: config };
  const release = join(dir, 'lists', `deb.debian.org_debian_dists_${DEBIAN_SUITE}_InRelease`);
  if (!existsSync(release) || Date.now() - statSync(release).mtimeMs > LISTS_MAX_AGE_MS) {
    exec('apt-get update (private lists)', 'apt-get', ['update', '-qq'], { env });
  }
  return {
    env,
    resolve: (name) => candidate(name, env),
  };
}
