import { createPinoLogger } from '@strata/service-runtime';
import { loadConfig } from './config.js';
import { startApi } from './start-api.js';

/** `tsx services/api/src/main.ts`: the API process. SIGTERM/SIGINT drain in-flight requests, then exit. */
const main = async () => {
  const config = loadConfig();
  const api = await startApi(config);
  api.app.log.info(
    { url: api.url, production: config.production, keyring: config.keyring.toString() },
    'strata api listening',
  );
  const stop = (signal: string) => {
    api.app.log.info({ signal }, 'strata api draining');
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    void api.close().then(() => {
      clearTimeout(force);
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
};

// The same line as the workers' (runService): a bad variable names itself, and the exit code is 1.
main().catch((error: unknown) => {
  createPinoLogger({ service: 'api' }).error(
    { error: error instanceof Error ? error.message : String(error) },
    'api failed to start',
  );
  process.exit(1);
});
