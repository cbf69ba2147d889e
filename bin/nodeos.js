#!/usr/bin/env node
// The nodeos command; its code is bundled into dist/ by `npm run build`.
let cli;
try {
  cli = require('../dist/cli.js');
} catch (err) {
  if (err.code !== 'MODULE_NOT_FOUND') throw err;
  console.error('nodeos: dist/cli.js is missing; run npm run build first');
  process.exit(1);
}
cli.main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`nodeos: ${err.message}`);
    process.exitCode = 1;
  },
);
