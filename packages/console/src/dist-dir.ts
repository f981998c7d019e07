import { fileURLToPath } from 'node:url';

/** Where `npm run build -w @strata/console` writes the app; the API serves it under /console. */
export const consoleDistDir = fileURLToPath(new URL('../dist', import.meta.url));
