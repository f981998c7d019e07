import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the API under /console: asset URLs carry that base, and every file is bundled (no CDN).
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
});
