// The staff console's build (scripts/build.mjs runs it into <out>/web; `carrel serve` serves that
// folder at /). Hashed file names under assets/ let the server mark them immutable.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    assetsDir: 'assets',
    // The page's CSP allows no inline script: Vite must not inline the module preload helper.
    modulePreload: { polyfill: false },
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
});
