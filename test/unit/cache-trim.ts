// The archive cache stays under its size: least recently used files go
// first, and nothing used within the last hour goes at all.
import t from 'tap';
import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trimCache } from '../../build/cache-trim';

const HOUR = 60 * 60_000;
const NOW = Date.parse('2026-11-27T12:00:00Z');

/** Files of `size` bytes, last used `agoMs` before NOW. */
function cache(files: Record<string, { size: number; agoMs: number }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodeos-cache-trim-'));
  for (const [name, { size, agoMs }] of Object.entries(files)) {
    writeFileSync(join(dir, name), Buffer.alloc(size));
    const at = new Date(NOW - agoMs);
    utimesSync(join(dir, name), at, at);
  }
  return dir;
}

t.test('over its size: the least recently used go, oldest first, until it fits', async (t) => {
  const dir = cache({ a: { size: 400, agoMs: 5 * HOUR }, b: { size: 400, agoMs: 3 * HOUR }, c: { size: 400, agoMs: 4 * HOUR }, d: { size: 400, agoMs: 2 * HOUR } });
  t.same(trimCache(dir, { maxBytes: 900, keepMs: HOUR }, NOW), ['a', 'c']);
  t.same(readdirSync(dir).sort(), ['b', 'd']);
});

t.test('under its size: nothing goes', async (t) => {
  const dir = cache({ a: { size: 400, agoMs: 5 * HOUR }, b: { size: 400, agoMs: 3 * HOUR } });
  t.same(trimCache(dir, { maxBytes: 800, keepMs: HOUR }, NOW), []);
  t.same(readdirSync(dir).sort(), ['a', 'b']);
});

t.test('what was used within keepMs stays even over the size: a build may be reading it', async (t) => {
  const dir = cache({ old: { size: 400, agoMs: 2 * HOUR }, recent: { size: 400, agoMs: HOUR / 2 }, now: { size: 400, agoMs: 0 } });
  t.same(trimCache(dir, { maxBytes: 100, keepMs: HOUR }, NOW), ['old']);
  t.same(readdirSync(dir).sort(), ['now', 'recent']);
});
