export * from './requests.js';
export * from './responses.js';
export * from './problem.js';
export * from './change-stream.js';
export * from './api-client.js';
