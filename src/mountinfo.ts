// /proc/self/mountinfo, parsed: what is mounted where, in mount order.
import { readFileSync } from 'node:fs';

export interface MountEntry {
  id: number;
  parent: number;
  /** major:minor of the filesystem's device; major 0 means no block device behind it. */
  device: string;
  target: string;
  fstype: string;
  source: string;
  options: string;
}

// The kernel escapes space, tab, newline and backslash as \ooo.
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const row of text.split('\n')) {
    if (!row) continue;
    const fields = row.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 3) throw new Error(`mountinfo: malformed line: ${row}`);
    entries.push({
      id: Number(fields[0]),
      parent: Number(fields[1]),
      device: fields[2],
      target: unescape(fields[4]),
      options: fields[5],
      fstype: fields[dash + 1],
      source: unescape(fields[dash + 2]),
    });
  }
  return entries;
}

export const MOUNTINFO = '/proc/self/mountinfo';

/** The current mounts, or none when /proc is not mounted yet. */
export function readMountinfo(path = MOUNTINFO): MountEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return parseMountinfo(text);
}

/** A filesystem on a block device: its data must reach the disk before power-off. */
export const isBlockBacked = (entry: MountEntry) => !entry.device.startsWith('0:');
