import { defineConfig } from 'vite';

// The gateway serves the build at /dashboard (KEYLEDGER_DASHBOARD_DIR, default dist/apps/dashboard).
export default defineConfig({
  base: '/dashboard/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../../dist/apps/dashboard',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle; no inline polyfill script, which the page's CSP would refuse.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
});
