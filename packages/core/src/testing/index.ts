export * from './expect-strata-error.js';
export * from './secret-access-log-contract.js';
export * from './snapshot-store-contract.js';
export * from './token-store-contract.js';
export * from './view-versions-contract.js';
export * from './create.js';
