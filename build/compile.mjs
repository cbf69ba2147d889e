// npm run build: type-check, bundle PID 1 and the CLI with esbuild, build the addon.
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';

function run(what, args) {
  const { status } = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (status !== 0) {
    console.error(`build: ${what} failed`);
    process.exit(1);
  }
}

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none' };

run('type-check', ['node_modules/typescript/bin/tsc', '-p', '.']);
await Promise.all([
  // PID 1: one file the kernel runs as /init through its #!/bin/node line.
  build({ ...common, entryPoints: ['src/main.ts'], outfile: 'dist/init.js', banner: { js: '#!/bin/node' }, minify: true, keepNames: true }),
  // Run by PID 1 for each user; /usr/bin/env for #!/usr/bin/env node scripts.
  build({ ...common, entryPoints: ['src/launch.ts'], outfile: 'dist/launch.js', minify: true, keepNames: true }),
  build({ ...common, entryPoints: ['src/env.ts'], outfile: 'dist/env.js', banner: { js: '#!/bin/node' }, minify: true, keepNames: true }),
  // /bin/sh, for npm scripts.
  build({ ...common, entryPoints: ['src/sh.ts'], outfile: 'dist/sh.js', banner: { js: '#!/bin/node' }, minify: true, keepNames: true }),
  build({ ...common, entryPoints: ['build/cli.ts'], outfile: 'dist/cli.js' }),
]);
run('addon', ['bin/nodeos.js', 'addon']);
