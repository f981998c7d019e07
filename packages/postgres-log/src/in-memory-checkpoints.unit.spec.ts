import { InMemoryCheckpoints } from '@strata/core';
import { describe } from 'vitest';
import { checkpointsContract } from './checkpoints-contract.js';

describe('InMemoryCheckpoints', () => {
  checkpointsContract(() => new InMemoryCheckpoints({ now: () => new Date() }));
});
