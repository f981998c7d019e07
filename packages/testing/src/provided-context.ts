import type { TestServices } from './services.js';

declare module 'vitest' {
  interface ProvidedContext {
    services: TestServices;
    /** Migrated database that every spec file's database is cloned from. */
    templateDatabase: string;
    /** Unique per `vitest run`: names of databases, topics and key prefixes carry it. */
    runId: string;
  }
}
