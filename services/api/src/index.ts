export {
  buildApi,
  defaultLimits,
  type ApiDeps,
  type ApiLimits,
  type ProjectionStore,
  type SecretSealer,
  type ViewReader,
} from './app.js';
export { loadConfig, devAdminToken, type ApiConfig } from './config.js';
export { startApi, type RunningApi } from './start-api.js';
export { permissionsOf, roles, type Permission, type Principal, type Role } from './access-policy.js';
export { statusOf } from './problem.js';
export { RedisViewVersions, type ViewVersions } from './view-versions.js';
