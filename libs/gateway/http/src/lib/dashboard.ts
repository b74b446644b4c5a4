import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorEnvelope } from './envelope';

/**
 * The operator dashboard's built files (apps/dashboard), served by fastify itself rather than by a
 * Nest controller: they are pages, not API, so they stay out of the OpenAPI document, the guards and
 * the envelope (apart from a 404 for an unknown file).
 */
export const DASHBOARD_PATH = '/dashboard';

/** Same origin only, no inline script or style, no framing: the page holds an org key. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The default: `dist/apps/dashboard`, next to the gateway's own bundle in `dist/apps/gateway`. */
export function defaultDashboardDir(): string {
  return resolve(__dirname, '..', 'dashboard');
}

export function serveDashboard(fastify: FastifyInstance, dir: string): void {
  const root = resolve(dir);
  const files = new Map<string, Buffer>(); // built files never change while the gateway runs

  const read = (relative: string): Buffer | null => {
    const file = resolve(root, relative);
    if (file !== root && !file.startsWith(root + sep)) return null;
    const cached = files.get(file);
    if (cached) return cached;
    if (!existsSync(file) || !CONTENT_TYPES[extname(file)]) return null;
    try {
      const content = readFileSync(file);
      files.set(file, content);
      return content;
    } catch {
      return null; // a directory, or unreadable
    }
  };

  const send = (reply: FastifyReply, relative: string, content: Buffer): FastifyReply =>
    reply
      .header('content-type', CONTENT_TYPES[extname(relative)])
      .header('content-security-policy', DASHBOARD_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cache-control', relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(content);

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const rest = (request.params as { '*'?: string })['*'] ?? ''; // fastify has decoded it
    // Paths with an extension are files; any other path is a screen of the single-page app.
    if (extname(rest)) {
      const content = read(rest);
      if (content) return send(reply, rest, content);
      return reply.code(404).header('content-type', 'application/json; charset=utf-8').send(
        errorEnvelope({ code: 'NOT_FOUND', message: `no dashboard file ${rest}`, details: {} }, request.id),
      );
    }
    const page = read('index.html');
    if (page) return send(reply, 'index.html', page);
    return reply
      .code(404)
      .header('content-type', 'text/plain; charset=utf-8')
      .send(`The dashboard is not built: run \`npx nx build dashboard\` (looked in ${join(root, 'index.html')}).\n`);
  };

  fastify.get(DASHBOARD_PATH, handler);
  fastify.get(`${DASHBOARD_PATH}/*`, handler);
}
