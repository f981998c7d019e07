export { buildApi } from './app.js';
export { defaultLimits, type ApiDeps, type ApiLimits, type SecretSealer } from './api-context.js';
export { loadConfig, devAdminToken, type ApiConfig } from './config.js';
export { apiAdapters, startApi, type ApiAdapters, type RunningApi } from './start-api.js';
export { permissionsOf, roles, type Permission, type Principal, type Role } from './access-policy.js';
export { statusOf } from './problem.js';
