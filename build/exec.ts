// Running the host tools a build needs, with their failure named.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';

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

/** Progress for long steps: "nodeos: step…" then its time. */
export async function progress<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
  const start = Date.now();
  process.stderr.write(`nodeos: ${what}…\n`);
  const result = await fn();
  process.stderr.write(`nodeos: ${what}: done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  return result;
}
