export * from './connection-state.js';
export * from './env-vars.js';
export * from './for-each-line.js';
export * from './json-logger.js';
export * from './prometheus-text.js';
export * from './rate-window.js';
export * from './run-service.js';
export * from './serve-metrics.js';
