// A cache folder kept under a size: every build of a changed PID 1 adds a
// compressed archive (~0.4 MB), every new node or kernel a large one (45–120
// MB), and nothing else would ever remove them. Least recently used first
// (a hit touches its file); nothing used in the last hour, so a build or
// test reading a file right now never loses it.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface TrimPolicy {
  maxBytes: number;
  /** Files used more recently than this are kept whatever their size. */
  keepMs: number;
}

export const ARCHIVE_CACHE: TrimPolicy = { maxBytes: 1 << 30, keepMs: 60 * 60_000 };

/** Removes the least recently used files of dir until it holds at most maxBytes; returns those removed. */
export function trimCache(dir: string, { maxBytes, keepMs }: TrimPolicy, now = Date.now()): string[] {
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const { size, mtimeMs } = statSync(join(dir, entry.name));
      return { name: entry.name, size, mtimeMs };
    })
    .sort((a, b) => a.mtimeMs - b.mtimeMs);
  let total = files.reduce((sum, file) => sum + file.size, 0);
  const removed: string[] = [];
  for (const file of files) {
    if (total <= maxBytes || now - file.mtimeMs < keepMs) break;
    rmSync(join(dir, file.name), { force: true });
    total -= file.size;
    removed.push(file.name);
  }
  return removed;
}
