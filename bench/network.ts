// Network benchmark, guest times from the kernel's own timestamps: a link's
// first DHCP line to its lease; Run /init → ready with a NIC, with the same
// NIC and nodeos.net=off, and without a NIC. PID 1's networking must not hold
// up ready (target: with / net=off ≤ 1.02); the NIC and its drivers (its
// bus's too) wait for the hotplug's first look after ready either way, so the
// boot without one shows whether anything of it is left before. Then one boot
// where a user runs `npm install` of the test fixture (a package with a
// dependency and a bin) from a registry on the host's loopback, timed inside.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootGuest } from '../build/qemu';
import { usersImageWithDependencies } from '../build/users-image';
import { startRegistry } from '../test/fixtures/registry';
import { writeFixturePackages, writeNpmUsersTree } from '../test/fixtures/npm-tree';
import { waitJson } from '../test/fixtures/users-checks';
import { kernelTimestamps, median, ms } from './timestamps';

const TIMEOUT_MS = 180_000;
const TARGETS = { networkingRatio: 1.02 };
const READY = ['Run \\/init as init process', 'nodeos: boot: ready in'];

async function npmInstallMs(manifestPath: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'nodeos-bench-'));
  const registry = await startRegistry(writeFixturePackages(join(dir, 'packages')), dir);
  try {
    const tree = await writeNpmUsersTree(join(dir, 'tree'), `http://10.0.2.2:${registry.port}/`, `http://127.0.0.1:${registry.port}/`);
    const image = join(dir, 'users.img');
    await usersImageWithDependencies(tree, image, { size: '128M', label: 'nodeos-users', owners: {}, arch: 'x64', registry: `http://127.0.0.1:${registry.port}/` });
    const guest = bootGuest(manifestPath, { users: image });
    try {
      await guest.expect('nodeos> ', TIMEOUT_MS);
      const report = await waitJson<{ install?: { status: number; ms: number; stderr: string } }>(guest, '/home/alice/report.json');
      if (report.install?.status !== 0) throw new Error(`bench: npm install failed in the guest: ${report.install?.stderr}`);
      return report.install.ms;
    } finally {
      guest.child.kill('SIGKILL');
      await guest.exited;
    }
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function networkBenchmark(manifestPath: string, runs: number) {
  const withNic: number[] = [];
  const netOff: number[] = [];
  const withoutNic: number[] = [];
  const lease: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Links are first looked at once PID 1 is ready, so the DHCP lines come after it.
    const [start, ready, selecting, bound] = await kernelTimestamps(
      manifestPath,
      [READY[0], READY[1], 'nodeos: net: eth0: selecting', 'nodeos: net: eth0: bound'],
      TIMEOUT_MS,
      { net: 'user' },
    );
    withNic.push(ready - start);
    lease.push(bound - selecting);
    const [offStart, offReady] = await kernelTimestamps(manifestPath, READY, TIMEOUT_MS, { net: 'user', append: 'nodeos.net=off' });
    netOff.push(offReady - offStart);
    const [noneStart, noneReady] = await kernelTimestamps(manifestPath, READY, TIMEOUT_MS, { net: 'none' });
    withoutNic.push(noneReady - noneStart);
  }
  const ratio = median(withNic) / median(netOff);
  return {
    runs,
    linkUpToLeaseMs: { median: ms(median(lease)), samples: lease.map(ms) },
    runInitToReadyMs: {
      withNic: ms(median(withNic)),
      withNicNetOff: ms(median(netOff)),
      withoutNic: ms(median(withoutNic)),
      samples: { withNic: withNic.map(ms), withNicNetOff: netOff.map(ms), withoutNic: withoutNic.map(ms) },
    },
    networkingRatio: Number(ratio.toFixed(3)),
    nicRatio: Number((median(withNic) / median(withoutNic)).toFixed(3)),
    npmInstallFixtureMs: await npmInstallMs(manifestPath),
    targets: TARGETS,
    met: { networkingRatio: ratio <= TARGETS.networkingRatio },
  };
}
