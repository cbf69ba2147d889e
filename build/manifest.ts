// manifest.json: what one build of kernel + initramfs is, read by every
// command that boots or packs it.
import { readFileSync } from 'node:fs';

export interface Manifest {
  arch: string;
  /** Paths are relative to the manifest. */
  kernel: { path: string; package: string; version: string };
  /** Absent when the kernel carries it (the custom kernel). */
  initramfs?: { path: string; bytes: number };
  cmdline: string;
  node: { version: string };
  /** The platform it was built for (PLATFORMS). */
  platform: string;
  /** Kernel modules in the initramfs; wanted ones this kernel lacks. */
  modules: { included: string[]; missing: string[] };
  /** Firmware files the included drivers name: in the image, or shipped by none of the platform's packages. */
  firmware: { included: string[]; missing: string[] };
  /** Hash of every input; equal means the image is up to date. */
  fingerprint: string;
}

export const MANIFEST = 'manifest.json';

export function readManifest(path: string): Manifest {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (err) {
    throw new Error(`manifest ${path}: ${(err as Error).message}; run nodeos build`);
  }
}
