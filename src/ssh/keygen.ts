// dist/ssh-keygen.js DIR: makes the SSH host key in DIR (host-key.ts). PID 1
// runs it at the first boot, so that node:crypto is loaded by this
// short-lived process rather than by PID 1 for as long as it runs. What
// went wrong is one line on stderr, which PID 1 logs.
import { makeHostKey } from './host-key';

try {
  makeHostKey(process.argv[2]);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
}
