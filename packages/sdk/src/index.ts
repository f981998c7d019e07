export * from './create-client.js';
export * from './create-http-client.js';
export * from './create-in-memory-client.js';
export * from './strata-client.js';
export * from './strata-provider.js';
export * from './flag-details.js';
export type * from './read-model.js';
