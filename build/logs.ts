// `nodeos logs IMAGE [NAME]`: the logs a NodeOS machine kept on its users
// partition (PID 1's, or a user's init.log), read on the host out of an image
// file: a users image, or a whole disk (the PC image, the Pi's SD card) whose
// Linux partition holds it. debugfs reads ext4 without mounting it.
import { spawnSync } from 'node:child_process';
import { lastLines, logFiles } from '../src/log-files';
import { exec } from './exec';
import { LINUX_TYPE } from './pc-image';

/** The users filesystem inside an image, as debugfs names it: the image itself, or IMAGE?offset=BYTES of its Linux partition. */
export function usersFilesystem(image: string): string {
  const table = spawnSync('sfdisk', ['-J', image], { encoding: 'utf8' });
  if (table.status !== 0) return image; // no partition table: a filesystem image
  const { partitions, sectorsize } = JSON.parse(table.stdout).partitiontable as { partitions: { start: number; type: string; name?: string }[]; sectorsize: number };
  const users = partitions.find((p) => p.name === 'nodeos-users') ?? partitions.find((p) => p.type === LINUX_TYPE || p.type === '83');
  if (!users) throw new Error(`logs: ${image} has no Linux partition`);
  return `${image}?offset=${users.start * sectorsize}`;
}

/** The last `lines` lines of PID 1's log (or NAME's init.log) in the image. */
export function imageLogs(image: string, name: string | undefined, lines: number): string {
  const fs = usersFilesystem(image);
  const texts = logFiles(name).map((file) => {
    const result = spawnSync('debugfs', ['-R', `cat /${file}`, fs], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return result.status === 0 && !/File not found/.test(result.stderr) ? result.stdout : '';
  });
  if (!texts.some(Boolean)) {
    exec('dumpe2fs', 'dumpe2fs', ['-h', fs]); // says why when it is no ext filesystem at all
    throw new Error(`logs: nothing logged ${name ? `by ${name}` : 'by PID 1'} in ${image}`);
  }
  return lastLines(texts, lines);
}
