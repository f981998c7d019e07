import { InMemoryViewStore } from './in-memory-view-store.js';
import { testViews } from './testing/view-store-contract.js';

testViews('InMemoryViewStore', async () => {
  const views = new InMemoryViewStore();
  return { store: views, reader: views, async [Symbol.asyncDispose]() {} };
});
