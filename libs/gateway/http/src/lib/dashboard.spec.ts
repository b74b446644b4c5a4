import Fastify from 'fastify';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DASHBOARD_CSP, serveDashboard } from './dashboard';

describe('serving the dashboard', () => {
  const root = mkdtempSync(join(tmpdir(), 'keyledger-dashboard-'));
  const dir = join(root, 'dashboard');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dash</title>');
  writeFileSync(join(dir, 'assets/index-abc.js'), 'console.log(1)');
  writeFileSync(join(dir, 'assets/index-abc.css'), 'body{}');
  writeFileSync(join(dir, 'assets/notes.md'), 'not a web file');
  writeFileSync(join(root, 'secret.txt'), 'outside');

  const app = Fastify();
  serveDashboard(app, dir);
  afterAll(() => app.close());

  it('answers every screen with the page, under a strict CSP', async () => {
    for (const url of ['/dashboard', '/dashboard/', '/dashboard/agents', '/dashboard/device?user_code=BCDF-GHJK']) {
      const res = await app.inject({ url });
      expect({ url, status: res.statusCode, type: res.headers['content-type'], body: res.body }).toEqual({
        url,
        status: 200,
        type: 'text/html; charset=utf-8',
        body: '<!doctype html><title>dash</title>',
      });
      expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves built assets with their content types, cached for good', async () => {
    const js = await app.inject({ url: '/dashboard/assets/index-abc.js' });
    expect([js.statusCode, js.headers['content-type'], js.headers['x-content-type-options']]).toEqual([200, 'text/javascript; charset=utf-8', 'nosniff']);
    expect(js.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ url: '/dashboard/assets/index-abc.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('refuses unknown files, other file types and paths outside its directory', async () => {
    for (const url of ['/dashboard/assets/missing.js', '/dashboard/assets/notes.md', '/dashboard/..%2fsecret.txt', '/dashboard/assets/..%2f..%2fsecret.txt']) {
      const res = await app.inject({ url });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 404 });
      expect(res.body).not.toContain('outside');
    }
  });

  it('says how to build it when it is not built', async () => {
    const bare = Fastify();
    serveDashboard(bare, join(dir, 'nowhere'));
    const res = await bare.inject({ url: '/dashboard/keys' });
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('npx nx build dashboard');
    await bare.close();
  });
});
