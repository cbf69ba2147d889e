// Where things are: the repository, its build outputs, and the download cache.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root (the CLI runs from dist/, sources from build/). */
export const ROOT = resolve(__dirname, '..');
export const DIST = join(ROOT, 'dist');
export const BUNDLE = join(DIST, 'init.js');
/** /init: turns on the bundle's compile cache and loads it. */
export const BOOT = join(DIST, 'boot.js');
export const ADDON = join(DIST, 'nodeos.node');
/** What PID 1 runs for users, installed beside it (lib/nodeos/). */
export const HELPERS = ['launch.js', 'session.js', 'sftp-server.js', 'log-writer.js', 'ssh-keygen.js'].map((name) => join(DIST, name));
export const ENV = join(DIST, 'env.js');
export const SH = join(DIST, 'sh.js');

/** Downloads and extracted packages, kept between builds: $NODEOS_CACHE or ~/.cache/nodeos. */
export const CACHE = process.env.NODEOS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nodeos');
