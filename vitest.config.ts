import { defineConfig } from 'vitest/config';

const exclude = ['**/node_modules/**', '**/dist/**'];

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
        test: {
          name: 'unit',
          include: ['packages/**/*.unit.spec.ts', 'services/**/*.unit.spec.ts', 'test/**/*.unit.spec.ts'],
          exclude,
        },
      },
      {
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
