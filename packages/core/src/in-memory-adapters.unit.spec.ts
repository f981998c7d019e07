import { InMemorySecretAccessLog } from './in-memory-secret-access-log.js';
import { InMemorySnapshotStore } from './in-memory-snapshot-store.js';
import { InMemoryTokenStore } from './in-memory-token-store.js';
import { InMemoryViewVersions } from './in-memory-view-versions.js';
import {
  secretAccessLogContract,
  snapshotStoreContract,
  tokenStoreContract,
  viewVersionsContract,
} from './testing/index.js';

tokenStoreContract('in memory', () => new InMemoryTokenStore({ now: () => new Date() }));

secretAccessLogContract('in memory', () => {
  const log = new InMemorySecretAccessLog();
  return { log, read: async (prefix) => log.entries().filter((a) => a.requestId.startsWith(prefix)) };
});

snapshotStoreContract('in memory', () => new InMemorySnapshotStore());

viewVersionsContract('in memory', () => {
  const versions = new InMemoryViewVersions();
  let position = 0;
  return {
    versions,
    change: async (namespace, environment) => versions.applied(namespace, environment, ++position),
    dropViews: async () => versions.live(null),
  };
});
