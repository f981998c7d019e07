import './provided-context.js';

export * from './services.js';
export * from './postgres.js';
export * from './redis.js';
export * from './kafka.js';
export * from './wait.js';
export * from './scratch.js';
export * from './private-kafka.js';
export * from './private-postgres.js';
export * from './private-redis.js';
export * from './runner-death-cleanup.js';
