import { describe } from 'vitest';
import { InMemoryKeyStore } from './in-memory-key-store.js';
import { keyStoreContract } from './key-store-contract.js';

describe('InMemoryKeyStore', () => {
  keyStoreContract((keyring) => new InMemoryKeyStore(keyring));
});
