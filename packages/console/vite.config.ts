import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

// Served by the API under /console: asset URLs carry that base, and every file is bundled (no CDN).
// The workspace packages (core, contracts) are bundled from their sources through the repo's
// `@strata/source` export condition, so the console builds before (and without) their `tsc -b`.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  resolve: { conditions: ['@strata/source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
});
