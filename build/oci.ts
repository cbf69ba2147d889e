// `nodeos build --platform oci`: NodeOS as a container image, one tar that
// both `docker load` and `podman load` read: an OCI image layout (oci-layout,
// index.json, blobs/sha256/…) that also carries docker-save's manifest.json.
// Layers: the runtime (node, its libraries, npm, /bin/sh), the system (PID 1
// and its helpers), and with --users a users tree at /home. Every byte
// follows from the inputs (sorted entries, root-owned but for the users' own
// files, mtimes from SOURCE_DATE_EPOCH, gzip from the Node that builds), so
// the same inputs give the same digests.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { CpioEntry } from '../initramfs/cpio';
import { BOOT_PATH, mountPoints, runtimeEntries, systemEntries } from '../initramfs/layout';
import { CONTAINER, PLATFORM_ENV } from '../src/container';
import { PASSWD_FILE } from '../src/passwd';
import { SETTINGS_DIR } from '../src/users';
import { PID1_ENVIRONMENT, sourceDateEpoch, systemInputs } from './image';
import { ROOT } from './paths';
import { tarBuffer } from './tar';
import { installUserDependencies } from './user-deps';
import type { Owner } from './users-image';
import { archInfo } from './versions';

export const ARCHIVE = 'nodeos-oci.tar';
export const IMAGE_NAME = 'nodeos/nodeos';
const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

export interface Layer {
  /** What the layer is, for the image's history. */
  name: string;
  entries: CpioEntry[];
}

export interface UsersTree {
  dir: string;
  /** top-level folder → its owner, for the folder and everything in it */
  owners: Readonly<Record<string, Owner>>;
  /** top-level folder → its passwd file's content */
  passwords: Readonly<Record<string, string>>;
}

interface Blob {
  digest: string;
  data: Buffer;
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const blob = (data: Buffer): Blob => ({ digest: sha256(data), data });
const jsonBlob = (value: unknown) => blob(Buffer.from(JSON.stringify(value)));

/** What engines name the image: nodeos/nodeos:VERSION. */
export function imageRef(): { name: string; tag: string; labels: Record<string, string> } {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; description: string; license: string; repository?: { url: string } };
  return {
    name: IMAGE_NAME,
    tag: pkg.version,
    labels: {
      'org.opencontainers.image.title': 'NodeOS',
      'org.opencontainers.image.description': pkg.description,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
      ...(pkg.repository && { 'org.opencontainers.image.source': pkg.repository.url }),
    },
  };
}

/**
 * The image config. No Volumes: engines would create an anonymous volume at
 * every run; users mount theirs at /home (`-v DIR:/home`).
 */
export function imageConfig(arch: string, diffIds: readonly string[], history: readonly string[], labels: Record<string, string>) {
  const created = new Date(sourceDateEpoch() * 1000).toISOString();
  return {
    created,
    architecture: archInfo(arch).ociArch,
    os: 'linux',
    config: {
      // /init itself, run through its #! line as the kernel runs it: the same node options (src/boot.ts).
      Entrypoint: [`/${BOOT_PATH}`],
      Env: ['PATH=/usr/bin:/bin', `${PLATFORM_ENV}=${CONTAINER}`, ...PID1_ENVIRONMENT],
      WorkingDir: '/',
      StopSignal: 'SIGTERM',
      Labels: labels,
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: history.map((created_by) => ({ created, created_by })),
  };
}

/** The users tree as /home's entries: owners as on disk (or as --owner says), passwords written as each user's own. */
export function usersEntries(tree: UsersTree, warn: (message: string) => void = () => {}): CpioEntry[] {
  const entries: CpioEntry[] = [{ type: 'dir', path: 'home', mode: 0o755 }];
  const walk = (path: string, archivePath: string, owner?: Owner) => {
    const stat = lstatSync(path);
    const { uid, gid } = owner ?? stat;
    const mode = stat.mode & 0o7777;
    if (stat.isDirectory()) {
      entries.push({ type: 'dir', path: archivePath, mode, uid, gid });
      for (const name of readdirSync(path).sort()) walk(join(path, name), posix.join(archivePath, name), owner);
    } else if (stat.isFile()) entries.push({ type: 'file', path: archivePath, mode, uid, gid, data: readFileSync(path) });
    else if (stat.isSymbolicLink()) entries.push({ type: 'symlink', path: archivePath, target: readlinkSync(path) });
    else warn(`${path}: not a file, folder or symlink: left out`);
  };
  for (const name of readdirSync(tree.dir).sort()) walk(join(tree.dir, name), `home/${name}`, tree.owners[name]);
  for (const [name, hash] of Object.entries(tree.passwords)) {
    const home = join(tree.dir, name);
    if (!existsSync(home) || !lstatSync(home).isDirectory()) throw new Error(`--password ${name}: no folder ${name} in ${tree.dir}`);
    const { uid, gid } = tree.owners[name] ?? lstatSync(home);
    const settings = `home/${name}/${SETTINGS_DIR}`;
    const file = `${settings}/${PASSWD_FILE}`;
    const kept = entries.filter((e) => e.path !== file && !(e.path === settings && e.type === 'dir'));
    entries.splice(0, entries.length, ...kept, { type: 'dir', path: settings, mode: 0o700, uid, gid }, { type: 'file', path: file, mode: 0o600, uid, gid, data: Buffer.from(hash) });
  }
  return entries;
}

/** The layers: runtime, system, and the users tree when given. */
export async function ociLayers(arch: string, users?: UsersTree): Promise<Layer[]> {
  const inputs = await systemInputs(arch);
  const layers: Layer[] = [
    {
      name: `runtime: node ${inputs.version}, its libraries, npm, /bin/sh`,
      // Engines mount their own /etc/resolv.conf and /etc/hosts over these, and /home's volume over /home.
      entries: [
        ...mountPoints(),
        { type: 'dir', path: 'home', mode: 0o755 },
        { type: 'file', path: 'etc/resolv.conf', mode: 0o644, data: Buffer.alloc(0) },
        { type: 'file', path: 'etc/hosts', mode: 0o644, data: Buffer.from('127.0.0.1 localhost\n::1 localhost\n') },
        ...runtimeEntries(inputs),
      ],
    },
    { name: 'system: PID 1, its addon and helpers', entries: systemEntries(inputs) },
  ];
  if (users) layers.push({ name: 'users: /home', entries: usersEntries(users) });
  return layers;
}

export interface OciImage {
  ref: string;
  archive: string;
  /** The image manifest's digest (what `podman inspect` shows as Digest). */
  digest: string;
  config: string;
  layers: { name: string; digest: string; diffId: string; bytes: number; tarBytes: number }[];
}

/** Every file of the archive, by path: the OCI layout beside docker-save's manifest.json. */
export async function ociArchive(arch: string, layers: readonly Layer[]): Promise<{ files: Record<string, Buffer>; image: Omit<OciImage, 'archive'> }> {
  const mtime = sourceDateEpoch();
  const { name, tag, labels } = imageRef();
  const built = await Promise.all(
    layers.map(async (layer) => {
      const tar = tarBuffer(layer.entries, mtime);
      return { layer, diffId: sha256(tar), tarBytes: tar.length, blob: blob(await promisify(gzip)(tar, { level: 9 })) };
    }),
  );
  const config = jsonBlob(imageConfig(arch, built.map((b) => b.diffId), layers.map((l) => `nodeos build --platform oci: ${l.name}`), labels));
  const manifest = jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: config.digest, size: config.data.length },
    layers: built.map((b) => ({ mediaType: MEDIA.layer, digest: b.blob.digest, size: b.blob.data.length })),
  });
  const ref = `${name}:${tag}`;
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    // containerd and podman name the image from the first, umoci and skopeo find it by the second.
    manifests: [{ mediaType: MEDIA.manifest, digest: manifest.digest, size: manifest.data.length, annotations: { 'io.containerd.image.name': `docker.io/${ref}`, 'org.opencontainers.image.ref.name': tag } }],
  };
  const path = (b: Blob) => `blobs/sha256/${b.digest.slice('sha256:'.length)}`;
  const dockerManifest = [{ Config: path(config), RepoTags: [ref], Layers: built.map((b) => path(b.blob)) }];
  const files: Record<string, Buffer> = {
    'oci-layout': Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })),
    'index.json': Buffer.from(JSON.stringify(index)),
    'manifest.json': Buffer.from(JSON.stringify(dockerManifest)),
  };
  for (const b of [config, manifest, ...built.map((l) => l.blob)]) files[path(b)] = b.data;
  return {
    files,
    image: {
      ref,
      digest: manifest.digest,
      config: config.digest,
      layers: built.map((b) => ({ name: b.layer.name, digest: b.blob.digest, diffId: b.diffId, bytes: b.blob.data.length, tarBytes: b.tarBytes })),
    },
  };
}

/** Writes OUT/ARCH/nodeos-oci.tar and, beside it, nodeos-oci.json (what it holds: digests and sizes). */
export async function buildOciImage(arch: string, dir: string, users?: UsersTree & { registry?: string }): Promise<OciImage> {
  const archive = join(dir, ARCHIVE);
  mkdirSync(dir, { recursive: true });
  const tree = users && (await installUserDependencies(users.dir, archive, arch, users.registry));
  try {
    const { files, image } = await ociArchive(arch, await ociLayers(arch, users && tree ? { ...users, dir: tree } : undefined));
    const entries: CpioEntry[] = Object.entries(files).map(([path, data]) => ({ type: 'file', path, mode: 0o644, data }));
    writeFileSync(`${archive}.tmp`, tarBuffer(entries, sourceDateEpoch()));
    renameSync(`${archive}.tmp`, archive);
    const result = { ...image, archive };
    writeFileSync(join(dir, 'nodeos-oci.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    if (users && tree && tree !== users.dir) rmSync(dirname(tree), { recursive: true, force: true });
  }
}
