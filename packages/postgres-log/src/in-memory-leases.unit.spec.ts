import { InMemoryCheckpoints, InMemoryLeases } from '@strata/core';
import { describe } from 'vitest';
import { leaderLeaseContract } from './leader-lease-contract.js';

describe('InMemoryLeaderLease', () => {
  leaderLeaseContract(async () => {
    const checkpoints = new InMemoryCheckpoints({ now: () => new Date() });
    const leases = new InMemoryLeases(checkpoints);
    return {
      candidate: () => leases.candidate(),
      sever: async (candidate) => candidate.sever(),
      checkpoints,
      [Symbol.asyncDispose]: async () => undefined,
    };
  });
});
