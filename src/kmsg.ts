// Reading the kernel log (/dev/kmsg): one record per read(2), as
// "prio,seq,usec,flags;message".
import { closeSync, constants, openSync, readSync } from 'node:fs';

export interface KmsgRecord {
  priority: number;
  seconds: number;
  message: string;
}

export function parseKmsgRecord(record: string): KmsgRecord | undefined {
  const semi = record.indexOf(';');
  if (semi < 0) return undefined;
  const [prio, , usec] = record.slice(0, semi).split(',');
  // Continuation lines (" KEY=value") follow the message; they are not part of it.
  const message = record.slice(semi + 1).split('\n')[0];
  return { priority: Number(prio) & 7, seconds: Number(usec) / 1e6, message };
}

/** Every record still in the kernel's buffer. */
export function readKernelLog(path = '/dev/kmsg'): KmsgRecord[] {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const buffer = Buffer.alloc(8192);
  const records: KmsgRecord[] = [];
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buffer);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') continue; // records were overwritten while we read
        throw err;
      }
      const record = parseKmsgRecord(buffer.toString('utf8', 0, n));
      if (record) records.push(record);
    }
  } finally {
    closeSync(fd);
  }
  return records;
}

export const formatKmsgRecord = (r: KmsgRecord) => `[${r.seconds.toFixed(6).padStart(12)}] ${r.message}`;
