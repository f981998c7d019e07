import { z } from 'zod';

// Imported first: zod otherwise probes `new Function` while core builds its schemas, which the
// console's Content-Security-Policy (no 'unsafe-eval') reports as an error in the browser console.
z.config({ jitless: true });
