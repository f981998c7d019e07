export * from './api-client.js';
export * from './cli-error.js';
export * from './program.js';
export type { Io } from './output.js';
export * from './fernet.js';
