// npm run build: type-check, bundle PID 1 and the CLI with esbuild, build the addon.
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none' };

execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
await Promise.all([
  // PID 1: one file the kernel runs as /init through its #!/bin/node line.
  build({ ...common, entryPoints: ['src/main.ts'], outfile: 'dist/init.js', banner: { js: '#!/bin/node' }, minify: true, keepNames: true }),
  build({ ...common, entryPoints: ['build/cli.ts'], outfile: 'dist/cli.js', external: ['esbuild'] }),
]);
execFileSync(process.execPath, ['bin/nodeos.js', 'addon'], { stdio: 'inherit' });
