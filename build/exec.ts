// Running the host tools a build needs, with their failure named.
import { spawn, spawnSync, type SpawnOptions, type SpawnSyncOptions } from 'node:child_process';

/** Runs a command; throws "what: cmd failed …" with its stderr when it fails. Returns stdout. */
export function exec(what: string, command: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (result.error) throw new Error(`${what}: cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const stderr = String(result.stderr ?? '').trim();
    throw new Error(`${what}: ${command} ${args.join(' ')} exited with ${result.status ?? result.signal}${stderr ? `\n${stderr}` : ''}`);
  }
  return String(result.stdout ?? '');
}

/** exec, without blocking the event loop (for commands that talk to servers in this process, as in tests). */
export function execAsync(what: string, command: string, args: readonly string[], options: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', (err) => reject(new Error(`${what}: cannot run ${command}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(stdout);
      reject(new Error(`${what}: ${command} ${args.join(' ')} exited with ${code ?? signal}${stderr.trim() ? `\n${stderr.trim()}` : ''}`));
    });
  });
}

/** Progress for long steps: "nodeos: step…" then its time. */
export async function progress<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
  const start = Date.now();
  process.stderr.write(`nodeos: ${what}…\n`);
  const result = await fn();
  process.stderr.write(`nodeos: ${what}: done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  return result;
}
