import { defineConfig } from 'vite';

// The gateway serves the build at /dashboard (KEYLEDGER_DASHBOARD_DIR, default dist/apps/dashboard).
export default defineConfig({
  base: '/dashboard/',
  // Not in node_modules: that is shared between worktrees here.
  cacheDir: '../../tmp/vite-dashboard',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // `nx serve dashboard`: hot reload at http://localhost:4200/dashboard/, API calls sent on to a
  // gateway (`npm start`) at KEYLEDGER_URL.
  server: {
    port: 4200,
    proxy: { '/v1': process.env['KEYLEDGER_URL'] ?? 'http://127.0.0.1:3000' },
  },
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
