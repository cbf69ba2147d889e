// SSH's wire format (RFC 4251 §5), as key files and key blobs use it: a
// uint32 is 4 bytes big-endian; a string is a uint32 length, then the bytes.

export const uint32 = (n: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
};

export const sshString = (data: Buffer | string) => {
  const bytes = Buffer.from(data);
  return Buffer.concat([uint32(bytes.length), bytes]);
};

/** Reads the wire format front to back; a read past the end throws "truncated". */
export class WireReader {
  private at = 0;
  constructor(private readonly data: Buffer) {}

  uint32(): number {
    if (this.at + 4 > this.data.length) throw new Error('truncated');
    const n = this.data.readUInt32BE(this.at);
    this.at += 4;
    return n;
  }

  string(): Buffer {
    const length = this.uint32();
    if (this.at + length > this.data.length) throw new Error('truncated');
    this.at += length;
    return this.data.subarray(this.at - length, this.at);
  }

  /** What is left unread. */
  rest(): Buffer {
    return this.data.subarray(this.at);
  }
}
