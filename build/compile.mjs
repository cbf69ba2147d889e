// npm run build: type-check, bundle PID 1 and the CLI with esbuild, build the addon.
// The type-check is TypeScript 7's compiler (typescript-native: the same
// checks, compiled to native code), about five times faster than TypeScript
// 5's: it parses 80 000 lines of declarations at every rebuild. tap still
// runs the tests through TypeScript 5 (ts-node needs its JavaScript API).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

/** A node command; the build fails with it. */
function run(what, args) {
  return new Promise((resolve) => {
    spawn(process.execPath, args, { stdio: 'inherit' }).on('exit', (status) => {
      if (status !== 0) {
        console.error(`build: ${what} failed`);
        process.exit(1);
      }
      resolve();
    });
  });
}

const require = createRequire(import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
// The version the login banner shows.
const define = { 'process.env.NODEOS_VERSION': JSON.stringify(version) };
// blessed is never bundled: it loads its widgets and terminfo by name (shipped as its folder instead).
// /bin/sh is @yarnpkg/shell's execute(): its shell grammar without the rest of @yarnpkg/parsers (yarn's lockfile
// YAML, resolutions) and without its own command line (clipanion), which only re-exports EntryCommand.
// A third of sh.js, compiled at every npm script.
const shellOnly = {
  name: 'shell-only',
  setup(build) {
    build.onResolve({ filter: /^@yarnpkg\/parsers$/ }, (args) => ({ path: join(dirname(require.resolve('@yarnpkg/parsers', { paths: [args.resolveDir] })), 'shell.js') }));
    build.onResolve({ filter: /^\.\/commands\/entry$/ }, (args) => (args.importer.includes('@yarnpkg/shell') ? { path: 'entry', namespace: 'unused' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'unused' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};
// winston's streams come from readable-stream 3, a copy of Node 10's: node's own (loaded anyway, for the consoles and
// sockets) serve it the same classes, so PID 1 holds one stream implementation rather than two.
const nodeStreams = {
  name: 'node-streams',
  setup(build) {
    build.onResolve({ filter: /^readable-stream(\/|$)/ }, (args) => ({ path: args.path, namespace: 'node-streams' }));
    build.onLoad({ filter: /.*/, namespace: 'node-streams' }, (args) => ({
      contents: `module.exports = require('node:stream')${args.path.endsWith('/_stream_writable.js') ? '.Writable' : ''};`,
      loader: 'js',
    }));
  },
};
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none', define, external: ['blessed'] };

// The type-check runs beside the bundling; the addon's build needs the CLI's bundle.
await Promise.all([
  run('type-check', ['node_modules/typescript-native/bin/tsc', '-p', '.']),
  // PID 1: one file the kernel runs as /init through its #!/bin/node line.
  // ssh2's optional native helpers are left out: it falls back on node:crypto without them. A production build:
  // winston's own debug lines (@dabh/diagnostics) are then its no-op, not the development one that loads colorspace
  // and kuler with winston (0.6 MB of PID 1's memory); nothing else in the bundle reads NODE_ENV.
  build({ ...common, entryPoints: ['src/main.ts'], outfile: 'dist/init.js', banner: { js: '#!/bin/node' }, minify: true, keepNames: true, define: { ...define, 'process.env.NODE_ENV': '"production"' }, external: [...common.external, 'cpu-features', '*/sshcrypto.node'], plugins: [nodeStreams] }),
  // /init: the compile cache on, then PID 1's bundle (loaded from beside it, never bundled into it); its #! option: src/boot.ts.
  build({ ...common, entryPoints: ['src/boot.ts'], outfile: 'dist/boot.js', banner: { js: '#!/bin/node --optimize-for-size' }, minify: true, external: ['./init.js'] }),
  // Run by PID 1 for each user; /usr/bin/env for #!/usr/bin/env node scripts.
  build({ ...common, entryPoints: ['src/launch.ts'], outfile: 'dist/launch.js', minify: true, keepNames: true }),
  // A user's login session: the REPL as that user, on a console or over SSH.
  build({ ...common, entryPoints: ['src/session.ts'], outfile: 'dist/session.js', minify: true, keepNames: true }),
  // A user's init.log, written as the user from the init's output.
  build({ ...common, entryPoints: ['src/log-writer.ts'], outfile: 'dist/log-writer.js', minify: true, keepNames: true }),
  // The SSH host key, made at the first boot apart from PID 1 (node:crypto stays out of it).
  build({ ...common, entryPoints: ['src/ssh/keygen.ts'], outfile: 'dist/ssh-keygen.js', minify: true, keepNames: true }),
  // SFTP, run as the user for SSH's sftp subsystem.
  build({ ...common, entryPoints: ['src/ssh/sftp-server.ts'], outfile: 'dist/sftp-server.js', minify: true, keepNames: true }),
  build({ ...common, entryPoints: ['src/env.ts'], outfile: 'dist/env.js', banner: { js: '#!/bin/node' }, minify: true, keepNames: true }),
  // /bin/sh, for npm scripts.
  build({ ...common, entryPoints: ['src/sh.ts'], outfile: 'dist/sh.js', banner: { js: '#!/bin/node' }, minify: true, keepNames: true, plugins: [shellOnly] }),
  // esbuild (the build minifies npm with it) runs its own binary: it cannot be bundled.
  build({ ...common, entryPoints: ['build/cli.ts'], outfile: 'dist/cli.js', external: [...common.external, 'esbuild'] }).then(() => run('addon', ['bin/nodeos.js', 'addon'])),
]);
