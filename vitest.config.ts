import { defineConfig } from 'vitest/config';

const exclude = ['**/node_modules/**', '**/dist/**'];

/**
 * Workspace packages export their TypeScript source under the `@strata/source` condition and
 * their build otherwise: specs run the source, no build needed (the rest are Vite's defaults).
 */
const conditions = ['@strata/source', 'module', 'node', 'development|production'];
const resolve = { conditions };

/**
 * Two projects so `npm test` runs pure specs without touching any server, and everything that
 * talks to PostgreSQL, Kafka or Redis after one global setup that finds (or explains the absence
 * of) the real services. Spec files isolate themselves (own database, topic, key prefix), so both
 * run files in parallel.
 */
export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        ssr: { resolve },
        test: {
          name: 'unit',
          include: ['packages/**/*.unit.spec.ts', 'services/**/*.unit.spec.ts', 'test/**/*.unit.spec.ts'],
          exclude,
        },
      },
      {
        resolve,
        ssr: { resolve },
        test: {
          name: 'integration',
          include: [
            'packages/**/*.{int,e2e}.spec.ts',
            'services/**/*.{int,e2e}.spec.ts',
            'test/**/*.{int,e2e}.spec.ts',
          ],
          exclude,
          globalSetup: ['test/setup/global-setup.ts'],
          setupFiles: ['test/setup/quiet-warnings.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: more workers than that only adds contention for the servers.
          maxWorkers: 2,
        },
      },
    ],
  },
});
