export * from './key-layout.js';
export * from './redis-view-reader.js';
export * from './redis-view-store.js';
export * from './view-ops.js';
export * from './view-state.js';
export * from './unavailable.js';
