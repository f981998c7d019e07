import { StrataError } from './errors.js';
import { fenceCheckpoints } from './fence-checkpoints.js';
import type { Checkpoints, LeaderLease, Lease, LeaseLoss } from './ports.js';

/**
 * The shared backend of in-memory leader leases (what PostgreSQL is to the advisory-lock adapter):
 * candidates made here contend for the same names, and their leases fence `checkpoints`.
 */
export class InMemoryLeases {
  readonly #holders = new Map<string, InMemoryLease>();

  constructor(readonly checkpoints: Checkpoints) {}

  /** A new candidate, as another process with its own session would be. */
  candidate(): InMemoryLeaderLease {
    return new InMemoryLeaderLease(this.#holders, this.checkpoints);
  }
}

/** One candidate of `InMemoryLeases`; passes the same contract suite as the PostgreSQL adapter. */
export class InMemoryLeaderLease implements LeaderLease {
  #lease: InMemoryLease | undefined;

  constructor(
    private readonly holders: Map<string, InMemoryLease>,
    private readonly checkpoints: Checkpoints,
  ) {}

  async tryAcquire(name: string): Promise<Lease | undefined> {
    if (this.#lease?.held)
      throw new StrataError('BAD_REQUEST', `this candidate already holds lease ${this.#lease.name}`);
    if (this.holders.get(name)?.held) return undefined;
    const lease = new InMemoryLease(name, this.checkpoints);
    this.holders.set(name, lease);
    this.#lease = lease;
    return lease;
  }

  /** Ends this candidate's session as a dropped connection would: its lease, if any, is lost. */
  sever(): void {
    this.#lease?.lose({ reason: 'session ended' });
  }

  async close(): Promise<void> {
    this.#lease = undefined;
  }
}

class InMemoryLease implements Lease {
  #held = true;
  #lost!: (loss: LeaseLoss) => void;
  readonly lost = new Promise<LeaseLoss>((resolve) => (this.#lost = resolve));
  readonly checkpoints: Checkpoints;

  constructor(
    readonly name: string,
    checkpoints: Checkpoints,
  ) {
    this.checkpoints = fenceCheckpoints(this, checkpoints);
  }

  get held(): boolean {
    return this.#held;
  }

  async renew(): Promise<boolean> {
    return this.#held;
  }

  async release(): Promise<void> {
    this.#held = false;
  }

  lose(loss: LeaseLoss): void {
    if (!this.#held) return;
    this.#held = false;
    this.#lost(loss);
  }
}
