// --password NAME: a user's login password, asked on the terminal (twice,
// not echoed) or read from stdin (one line per name, in order, for scripts),
// and kept only as its scrypt hash.
import { hashPassword } from '../src/passwd';
import { readLine } from '../src/terminal-input';

async function stdinLines(): Promise<string[]> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.split('\n').map((line) => line.replace(/\r$/, ''));
}

async function askTwice(name: string): Promise<string> {
  const ask = async (prompt: string) => {
    const result = await readLine(process.stdin, process.stderr, prompt, { hidden: true });
    if (!('line' in result)) throw new Error(`--password ${name}: cancelled`);
    return result.line;
  };
  const first = await ask(`Password for ${name}: `);
  if ((await ask(`Again for ${name}: `)) !== first) throw new Error(`--password ${name}: the two differ`);
  return first;
}

/** name → the passwd file's content (its hash line). */
export async function passwordHashes(names: readonly string[]): Promise<Record<string, string>> {
  if (!names.length) return {};
  const lines = process.stdin.isTTY ? [] : await stdinLines();
  const hashes: Record<string, string> = {};
  for (const [i, name] of names.entries()) {
    const password = process.stdin.isTTY ? await askTwice(name) : lines[i];
    if (!password) throw new Error(`--password ${name}: no password (an empty one, or stdin has no line ${i + 1})`);
    hashes[name] = await hashPassword(password);
  }
  return hashes;
}
