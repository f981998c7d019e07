export * from './key-layout.js';
export { staleAfterMs, type LagReporter, type PartitionLagReport, type PartitionOffsets } from './partition-lag.js';
export * from './redis-view-reader.js';
export * from './redis-view-store.js';
export * from './redis-view-versions.js';
export * from './view-ops.js';
export * from './view-state.js';
export * from './unavailable.js';
