// SNTP (RFC 4330) packets: the client's request and the checks a reply must
// pass before its time is believed. Pure: times in and out are ms since the
// Unix epoch; a bad reply throws SntpError.

/** Seconds from 1900 (NTP's era 0) to 1970. */
const NTP_EPOCH_OFFSET_S = 2_208_988_800;
export const SNTP_PORT = 123;
const SIZE = 48;

export class SntpError extends Error {
  override name = 'SntpError';
}

/** An NTP timestamp: 32 bits of seconds since 1900, 32 bits of fraction. */
export function writeTimestamp(buf: Buffer, at: number, ms: number): void {
  const seconds = Math.floor(ms / 1000);
  buf.writeUInt32BE((seconds + NTP_EPOCH_OFFSET_S) >>> 0, at);
  buf.writeUInt32BE(Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32) >>> 0, at + 4);
}

/** Era 0 ends in 2036: seconds below 2^31 are read as era 1 (RFC 4330 §3). */
export function readTimestamp(buf: Buffer, at: number): number {
  const seconds = buf.readUInt32BE(at);
  const era = seconds < 0x8000_0000 ? 2 ** 32 : 0;
  return (seconds + era - NTP_EPOCH_OFFSET_S) * 1000 + (buf.readUInt32BE(at + 4) / 2 ** 32) * 1000;
}

/** A client request (version 4, mode 3) whose transmit timestamp is `nowMs`. */
export function sntpRequest(nowMs: number): Buffer {
  const buf = Buffer.alloc(SIZE);
  buf[0] = (0 << 6) | (4 << 3) | 3;
  writeTimestamp(buf, 40, nowMs);
  return buf;
}

export interface SntpResult {
  /** How far our clock is behind the server's, ms (negative: ahead). */
  offsetMs: number;
  stratum: number;
}

/**
 * Checks a reply to `request` received at `receivedMs` (our clock) and gives
 * the clock offset: ((T2 − T1) + (T3 − T4)) / 2.
 */
export function parseSntpReply(reply: Buffer, request: Buffer, receivedMs: number): SntpResult {
  if (reply.length < SIZE) throw new SntpError(`${reply.length} bytes is too short`);
  const leap = reply[0] >> 6;
  const version = (reply[0] >> 3) & 7;
  const mode = reply[0] & 7;
  const stratum = reply[1];
  if (mode !== 4) throw new SntpError(`mode ${mode} is not a server reply`);
  if (version < 3 || version > 4) throw new SntpError(`version ${version}`);
  if (stratum === 0) throw new SntpError(`kiss-o'-death ${JSON.stringify(reply.toString('latin1', 12, 16).replace(/[^\x20-\x7e]/g, '?'))}`);
  if (stratum > 15) throw new SntpError(`stratum ${stratum}`);
  if (leap === 3) throw new SntpError('the server is not synchronized');
  if (!reply.subarray(24, 32).equals(request.subarray(40, 48))) throw new SntpError('not a reply to our request (originate timestamp differs)');
  if (reply.readUInt32BE(40) === 0) throw new SntpError('no transmit timestamp');
  const t1 = readTimestamp(request, 40);
  const t2 = readTimestamp(reply, 32);
  const t3 = readTimestamp(reply, 40);
  return { offsetMs: (t2 - t1 + (t3 - receivedMs)) / 2, stratum };
}
