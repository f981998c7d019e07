export * from './connection-state.js';
export * from './env-schema.js';
export * from './for-each-line.js';
export * from './logger.js';
export * from './metrics-registry.js';
export * from './rate-window.js';
export * from './run-service.js';
export * from './serve-metrics.js';
