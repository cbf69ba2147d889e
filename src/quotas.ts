// Per-user disk quotas on the users partition: ext4's quota feature (which
// `nodeos users-image` sets) keeps every uid's usage, the usrquota mount
// option enforces limits, and PID 1 sets each user's block limit before
// anything runs as that user. A user who fills their share gets EDQUOT; the
// others, and PID 1 in the blocks reserved for root, keep writing.
import type { Log } from './log';
import { QUOTA, type Sys } from './sys';
import type { Account } from './users';

export class DiskQuotas {
  /** What each uid's limit was last set to. */
  private readonly applied = new Map<number, string>();

  constructor(
    private readonly sys: Sys,
    /** The users partition's device, as quotactl(2) takes it. */
    private readonly device: string,
    private readonly log: Log,
  ) {}

  /** Sets the user's block limit (bytes, or max), when it changed; root is never limited. */
  apply(account: Account, diskMax: string): void {
    if (account.uid === 0 || this.applied.get(account.uid) === diskMax) return;
    this.applied.set(account.uid, diskMax);
    const kib = diskMax === 'max' ? 0 : Math.max(1, Math.floor(Number(diskMax) / 1024));
    try {
      this.sys.setQuota(this.device, QUOTA.USER, account.uid, kib);
      this.log.info(`${account.name}: disk quota ${kib ? `${(kib / 1024).toFixed(1)} MiB` : 'none'}`);
    } catch (err) {
      this.log.warn(`${account.name}: disk quota not set: ${(err as Error).message}`);
    }
  }
}
