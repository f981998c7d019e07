export * from './relay.js';
export * from './relay-config.js';
export * from './relay-metrics.js';
