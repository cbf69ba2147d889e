// ~/.ssh/authorized_keys, as OpenSSH writes it: one key per line,
// `[options] TYPE BASE64 [comment]`, # comments and blank lines skipped.
// Options we cannot honour (from=, command=, …) make the key unusable rather
// than silently wider than its owner meant; the no-* forwarding options are
// kept trivially (we forward nothing), no-pty and restrict are honoured. Pure.
import { WireReader } from './wire';

export interface AuthorizedKey {
  type: string;
  /** The public key blob (what a client offers). */
  data: Buffer;
  comment: string;
  /** A terminal may not be given to this key's sessions. */
  noPty: boolean;
}

export interface AuthorizedKeys {
  keys: AuthorizedKey[];
  /** "line N: why", for lines that give no key. */
  problems: string[];
}

const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;
/** Options that change nothing here (nothing is forwarded, no rc files run). */
const NO_OPS = new Set(['no-agent-forwarding', 'no-port-forwarding', 'no-x11-forwarding', 'no-user-rc']);
const NO_PTY = new Set(['no-pty', 'restrict']);

/** Splits `a,b="x, y",c` on commas outside quotes. Returns undefined on an unclosed quote. */
function splitOptions(text: string): string[] | undefined {
  const options: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quoted && i + 1 < text.length) current += c + text[++i];
    else if (c === '"') (quoted = !quoted), (current += c);
    else if (c === ',' && !quoted) options.push(current), (current = '');
    else current += c;
  }
  if (quoted) return undefined;
  options.push(current);
  return options;
}

/** The options field: up to the first space outside quotes. */
function leadingOptions(line: string): { options: string; rest: string } | undefined {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (/\s/.test(line[i]) && !quoted) return { options: line.slice(0, i), rest: line.slice(i).trim() };
  }
  return undefined;
}

/** The type string at the start of a key blob (uint32 length, then the name). */
function blobType(blob: Buffer): string | undefined {
  try {
    return new WireReader(blob).string().toString('latin1') || undefined;
  } catch {
    return undefined;
  }
}

function parseLine(line: string): AuthorizedKey | string {
  let words = line.split(/\s+/);
  let options: string[] = [];
  if (!KEY_TYPE.test(words[0])) {
    const split = leadingOptions(line);
    const list = split && splitOptions(split.options);
    if (!split || !list) return 'neither a key type nor options followed by one';
    options = list;
    words = split.rest.split(/\s+/);
    if (!KEY_TYPE.test(words[0] ?? '')) return `unknown key type ${JSON.stringify(words[0] ?? '')}`;
  }
  const [type, base64 = '', ...comment] = words;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return 'the key is not base64';
  const data = Buffer.from(base64, 'base64');
  if (blobType(data) !== type) return `the key's data is not a ${type} key`;
  let noPty = false;
  for (const option of options) {
    const name = option.split('=')[0].toLowerCase();
    if (NO_PTY.has(name)) noPty = true;
    else if (!NO_OPS.has(name)) return `option ${name} is not supported here: key ignored`;
  }
  return { type, data, comment: comment.join(' '), noPty };
}

export function parseAuthorizedKeys(text: string): AuthorizedKeys {
  const result: AuthorizedKeys = { keys: [], problems: [] };
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parsed = parseLine(line);
    if (typeof parsed === 'string') result.problems.push(`line ${index + 1}: ${parsed}`);
    else result.keys.push(parsed);
  });
  return result;
}

/** The key a client offers, if the file allows it. */
export const findKey = (keys: readonly AuthorizedKey[], type: string, data: Buffer) => keys.find((k) => k.type === type && k.data.equals(data));
