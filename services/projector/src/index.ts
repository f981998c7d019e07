export * from './projector.js';
export * from './projector-config.js';
export * from './projector-metrics.js';
