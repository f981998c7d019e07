import { testEventLog } from './testing/event-log-contract.js';
import { InMemoryEventLog } from './in-memory-event-log.js';

testEventLog('InMemoryEventLog', async (clock) => {
  const log = new InMemoryEventLog({ clock });
  // One process, one log: another writer is the same instance.
  return { log, another: () => log, async [Symbol.asyncDispose]() {} };
});
