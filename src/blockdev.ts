// Block devices and what is on them, read by ourselves (no blkid): the ext4
// superblock, the FAT boot sector, squashfs's magic, and GPT partition entries
// for PARTUUID / PARTLABEL. A users partition is then found by its spec.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

export interface Filesystem {
  type: 'ext4' | 'vfat' | 'squashfs';
  label?: string;
  uuid?: string;
  /** ext4's quota feature: usage kept in hidden inodes, limits enforced when mounted with usrquota. */
  quota?: boolean;
}

/** s_feature_ro_compat's RO_COMPAT_QUOTA. */
const EXT4_QUOTA = 0x100;

export interface BlockDevice extends Partial<Filesystem> {
  name: string;
  /** The device node, /dev/NAME. */
  path: string;
  partuuid?: string;
  partlabel?: string;
}

const cString = (bytes: Buffer) => {
  const nul = bytes.indexOf(0);
  return (nul < 0 ? bytes : bytes.subarray(0, nul)).toString('utf8');
};

const hex = (bytes: Buffer) => bytes.toString('hex');

/** RFC 4122 text of 16 bytes as stored (ext4: big-endian throughout). */
const uuidText = (b: Buffer) => `${hex(b.subarray(0, 4))}-${hex(b.subarray(4, 6))}-${hex(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;

/** GPT GUIDs store their first three fields little-endian. */
const guidText = (b: Buffer) =>
  uuidText(Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8, 16)]));

/** What filesystem the first 64 KiB of a device hold, if one we know. */
export function probeFilesystem(head: Buffer): Filesystem | undefined {
  if (head.length >= 2048 && head.readUInt16LE(1024 + 0x38) === 0xef53) {
    const label = cString(head.subarray(1024 + 0x78, 1024 + 0x88));
    const quota = (head.readUInt32LE(1024 + 0x64) & EXT4_QUOTA) !== 0;
    return { type: 'ext4', uuid: uuidText(head.subarray(1024 + 0x68, 1024 + 0x78)), ...(label && { label }), ...(quota && { quota }) };
  }
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'hsqs') return { type: 'squashfs' };
  if (head.length >= 512 && head.readUInt16LE(510) === 0xaa55) {
    // FAT32 keeps its extended boot record at 0x40, FAT12/16 at 0x24.
    const ebr = head.toString('latin1', 0x52, 0x57) === 'FAT32' ? 0x40 : head.toString('latin1', 0x36, 0x39) === 'FAT' ? 0x24 : -1;
    if (ebr < 0) return undefined;
    const serial = head.readUInt32LE(ebr + 3).toString(16).toUpperCase().padStart(8, '0');
    const label = head.toString('latin1', ebr + 7, ebr + 18).trim();
    return { type: 'vfat', uuid: `${serial.slice(0, 4)}-${serial.slice(4)}`, ...(label && label !== 'NO NAME' && { label }) };
  }
  return undefined;
}

export interface GptEntry {
  number: number;
  partuuid: string;
  partlabel: string;
}

/** The used entries of a GPT, read through `read(offset, length)` (512-byte sectors). */
export function readGpt(read: (offset: number, length: number) => Buffer): GptEntry[] {
  const header = read(512, 92);
  if (header.toString('latin1', 0, 8) !== 'EFI PART') return [];
  const entriesAt = Number(header.readBigUInt64LE(0x48)) * 512;
  const count = header.readUInt32LE(0x50);
  const size = header.readUInt32LE(0x54);
  const table = read(entriesAt, count * size);
  const entries: GptEntry[] = [];
  for (let i = 0; i < count; i++) {
    const entry = table.subarray(i * size, (i + 1) * size);
    if (entry.length < 128 || entry.subarray(0, 16).every((b) => b === 0)) continue;
    entries.push({ number: i + 1, partuuid: guidText(entry.subarray(16, 32)), partlabel: cString(Buffer.from(entry.subarray(56, 128).toString('utf16le'))) });
  }
  return entries;
}

function reader(path: string): { read(offset: number, length: number): Buffer; close(): void } {
  const fd = openSync(path, 'r');
  return {
    read(offset, length) {
      const buffer = Buffer.alloc(length);
      const n = readSync(fd, buffer, 0, length, offset);
      return buffer.subarray(0, n);
    },
    close: () => closeSync(fd),
  };
}

/** Every block device with what we can read of it (devices that cannot be read are skipped). */
export function listBlockDevices(sysfs = '/sys', dev = '/dev'): BlockDevice[] {
  const names = existsSync(`${sysfs}/class/block`) ? readdirSync(`${sysfs}/class/block`) : [];
  const gpts = new Map<string, GptEntry[]>();
  const devices: BlockDevice[] = [];
  for (const name of names) {
    const path = `${dev}/${name}`;
    if (/^(loop|ram|zram)\d/.test(name) && readSize(sysfs, name) === 0) continue;
    let device: BlockDevice = { name, path };
    try {
      const r = reader(path);
      try {
        device = { ...device, ...probeFilesystem(r.read(0, 65536)) };
        if (!existsSync(`${sysfs}/class/block/${name}/partition`)) gpts.set(name, readGpt(r.read));
      } finally {
        r.close();
      }
    } catch {
      continue;
    }
    devices.push(device);
  }
  // A partition's PARTUUID and PARTLABEL live in its disk's GPT.
  for (const device of devices) {
    const partition = readSysfs(sysfs, device.name, 'partition');
    const disk = names.find((d) => gpts.has(d) && existsSync(`${sysfs}/class/block/${d}/${device.name}`));
    const entry = partition && disk ? gpts.get(disk)!.find((e) => e.number === Number(partition)) : undefined;
    if (entry) Object.assign(device, { partuuid: entry.partuuid, partlabel: entry.partlabel });
  }
  return devices;
}

const readSysfs = (sysfs: string, name: string, file: string) => {
  try {
    return readFileSync(`${sysfs}/class/block/${name}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
};
const readSize = (sysfs: string, name: string) => Number(readSysfs(sysfs, name, 'size') ?? 0);

/** Whether a device answers to a spec: /dev/…, LABEL=, UUID=, PARTUUID= or PARTLABEL=. */
export function matchesSpec(device: BlockDevice, spec: string): boolean {
  const eq = spec.indexOf('=');
  if (spec.startsWith('/dev/')) return device.path === spec;
  const [key, value] = [spec.slice(0, eq), spec.slice(eq + 1)];
  switch (key) {
    case 'LABEL':
      return device.label === value;
    case 'UUID':
      return device.uuid?.toLowerCase() === value.toLowerCase();
    case 'PARTUUID':
      return device.partuuid?.toLowerCase() === value.toLowerCase();
    case 'PARTLABEL':
      return device.partlabel === value;
    default:
      return false;
  }
}
