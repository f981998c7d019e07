export * from './change-notifications.js';
export * from './create-pool.js';
export * from './hash-chain.js';
export * from './migrate.js';
export * from './postgres-event-log.js';
export * from './snapshots.js';
export * from './subscribe.js';
export * from './upcasters.js';
