/**
 * `@strata/core/testing`: pure test support for every package's specs and benchmarks — event
 * builders, the decider spec shape, seeded sample events and the contract suites every
 * implementation of a port runs. Source only (it imports vitest): not part of the built package.
 */
export * from './event-builders.js';
export * from './given.js';
export * from './event-factory.js';
export * from './flagd-definitions.js';
export * from './sample-events.js';
export * from './event-log-contract.js';
export * from './expect-strata-error.js';
export * from './secret-access-log-contract.js';
export * from './snapshot-store-contract.js';
export * from './token-store-contract.js';
export * from './view-versions-contract.js';
export * from './create.js';
export * from './view-store-contract.js';
