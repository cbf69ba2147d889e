// `nodeos users-image DIR OUT.img`: an ext4 users partition made from a
// directory, without root and without loop mounts. mke2fs -d copies the tree
// with its owners and modes; --owner NAME=UID:GID then sets the owner of a
// top-level folder and everything in it (a user's uid and gid) by editing the
// inodes with debugfs, so a tree written by an ordinary user works too.
// --password NAME writes NAME's login password hash (~/.nodeos/passwd, the
// user's own, mode 600) the same way.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { PASSWD_FILE } from '../src/passwd';
import { accountFolders, DEFAULT_ACCOUNT_POLICY, SETTINGS_DIR } from '../src/users';
import { installUserDependencies } from './user-deps';
import { MiB } from './disk';
import { exec } from './exec';

export type Owner = { uid: number; gid: number };

export interface UsersImageOptions {
  size: string;
  label: string;
  /** top-level folder → its owner */
  owners: Readonly<Record<string, Owner>>;
  /** top-level folder → its passwd file's content (a hash line from src/passwd.ts) */
  passwords?: Readonly<Record<string, string>>;
}

export function parseOwner(spec: string): [string, Owner] {
  const match = /^([^=/]+)=(\d+):(\d+)$/.exec(spec);
  if (!match) throw new Error(`--owner ${spec}: expected NAME=UID:GID`);
  return [match[1], { uid: Number(match[2]), gid: Number(match[3]) }];
}

/** Image paths of a folder and all it holds (symlinks themselves, not followed). */
function treePaths(dir: string, imagePath: string): string[] {
  const paths = [imagePath];
  if (lstatSync(dir).isDirectory()) {
    for (const name of readdirSync(dir).sort()) paths.push(...treePaths(join(dir, name), posix.join(imagePath, name)));
  }
  return paths;
}

/** debugfs commands that give every inode of those folders its owner. */
export function ownerCommands(dir: string, owners: Readonly<Record<string, Owner>>): string[] {
  const commands: string[] = [];
  for (const [name, { uid, gid }] of Object.entries(owners)) {
    for (const path of treePaths(join(dir, name), `/${name}`)) {
      const quoted = JSON.stringify(path);
      commands.push(`set_inode_field ${quoted} uid ${uid}`, `set_inode_field ${quoted} gid ${gid}`);
    }
  }
  return commands;
}

/**
 * The users image as `nodeos users-image` and `build --users` make it: homes
 * with a package.json get their dependencies first (build/user-deps.ts).
 */
export async function usersImageWithDependencies(dir: string, out: string, options: UsersImageOptions & { arch: string; registry?: string }): Promise<void> {
  const tree = await installUserDependencies(dir, out, options.arch, options.registry);
  try {
    buildUsersImage(tree, out, options);
  } finally {
    if (tree !== dir) rmSync(dirname(tree), { recursive: true, force: true });
  }
}

/** debugfs commands that write a user's passwd file (from a local file), owned by the user, mode 600, in a 700 .nodeos. */
export function passwordCommands(dir: string, name: string, hashFile: string, owner: Owner | undefined): string[] {
  if (!existsSync(join(dir, name)) || !lstatSync(join(dir, name)).isDirectory()) throw new Error(`--password ${name}: no folder ${name} in ${dir}`);
  const { uid, gid } = owner ?? lstatSync(join(dir, name));
  const settings = `/${name}/${SETTINGS_DIR}`;
  const file = `${settings}/${PASSWD_FILE}`;
  const own = (path: string, mode: string) => [`set_inode_field ${JSON.stringify(path)} uid ${uid}`, `set_inode_field ${JSON.stringify(path)} gid ${gid}`, `set_inode_field ${JSON.stringify(path)} mode ${mode}`];
  return [
    ...(existsSync(join(dir, name, SETTINGS_DIR)) ? [] : [`mkdir ${JSON.stringify(settings)}`, ...own(settings, '040700')]),
    `rm ${JSON.stringify(file)}`, // a passwd already in the tree is replaced
    `write ${JSON.stringify(hashFile)} ${JSON.stringify(file)}`,
    ...own(file, '0100600'),
  ];
}

/**
 * The top-level folders PID 1 will not start or let log in, with its reason
 * (src/users.ts, with the default rules), so whoever builds an image hears it
 * now rather than at boot.
 */
export function refusedFolders(dir: string, owners: Readonly<Record<string, Owner>>): string[] {
  const owned = (path: string) => {
    const stat = lstatSync(path);
    return { isDirectory: () => stat.isDirectory(), isSymbolicLink: () => stat.isSymbolicLink(), ...(owners[basename(path)] ?? { uid: stat.uid, gid: stat.gid }) };
  };
  return accountFolders(DEFAULT_ACCOUNT_POLICY, dir, owned).skipped;
}

/** 512M, 2G → bytes (--users-size). */
export function sizeBytes(size: string): number {
  const match = /^(\d+)([MG])$/.exec(size);
  if (!match) throw new Error(`users partition size ${size}: expected a size in M or G (512M, 2G)`);
  return Number(match[1]) * (match[2] === 'G' ? 1024 : 1) * MiB;
}

/**
 * ext4 with the quota feature (each user's usage kept, for the limits PID 1
 * sets: src/quotas.ts) and the default 5 % of blocks reserved for root, so
 * PID 1 can still write when users have filled the rest.
 */
export function buildUsersImage(dir: string, out: string, options: UsersImageOptions): void {
  // A sparse file of the size: mke2fs then knows its inode tables read as zeros (they are holes) and marks them so,
  // which spares the kernel's ext4lazyinit from zeroing them in the background of the first boot.
  writeFileSync(out, '');
  truncateSync(out, sizeBytes(options.size));
  exec('mke2fs', 'mke2fs', ['-q', '-F', '-t', 'ext4', '-L', options.label, '-d', dir, '-O', 'quota', '-E', 'root_owner=0:0,quotatype=usrquota', out, options.size]);
  const staging = mkdtempSync(join(tmpdir(), 'nodeos-passwd-'));
  try {
    const commands = ownerCommands(dir, options.owners);
    for (const [name, hash] of Object.entries(options.passwords ?? {})) {
      const hashFile = join(staging, name);
      writeFileSync(hashFile, hash, { mode: 0o600 });
      commands.push(...passwordCommands(dir, name, hashFile, options.owners[name]));
    }
    if (commands.length) {
      const script = join(staging, 'debugfs');
      writeFileSync(script, `${commands.join('\n')}\n`);
      exec('debugfs', 'debugfs', ['-w', '-f', script, out]);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  countUsage(out);
}

/** Neither mke2fs -d nor debugfs's owner edits update the quota usage: e2fsck counts it (exit 1: it changed something). */
function countUsage(image: string): void {
  const run = spawnSync('e2fsck', ['-f', '-p', image], { encoding: 'utf8' });
  if (run.status !== 0 && run.status !== 1) throw new Error(`e2fsck -fp ${image}: exit ${run.status ?? run.signal}\n${run.stdout}${run.stderr}`);
}
