// Files others read while we replace them (resolv.conf, the saved clock):
// written beside, then renamed over, so a reader sees the old or the new.
import { renameSync, writeFileSync } from 'node:fs';

export function writeAtomic(path: string, text: string, mode = 0o644): void {
  writeFileSync(`${path}.tmp`, text, { mode });
  renameSync(`${path}.tmp`, path);
}
