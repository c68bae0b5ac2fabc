// The staff console: the single-page app `npm run build` writes to config.consoleDir (web/ is its
// source), served at `/`. Hashed assets (/assets/*) are immutable; the page itself is never
// cached, so a new release is picked up at the next load. The page carries a strict
// Content-Security-Policy: scripts and styles from this origin only, no inline script.
// Client routes (/users/42, /staff/new …) get the same page (consoleFallback, from the server's
// not-found handler), but never a path of the APIs, the login pages or the health check: those
// keep their own 404s.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.js';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_CONSOLE = /^\/(api|almaws|auth|healthz|assets)(\/|$)/;

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Carrel</title>
<p>The staff console is not built. Run <code>npm run build</code> (or <code>npm start</code>), then reload.</p></html>`;

function sendPage(reply: FastifyReply, body: string) {
  return reply
    .header('cache-control', 'no-cache')
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('x-frame-options', 'DENY')
    .type('text/html; charset=utf-8')
    .send(body);
}

export interface ConsolePages {
  plugin: FastifyPluginAsync;
  /** Answers a console route with the page; false for a path the console does not own. */
  fallback(req: FastifyRequest, reply: FastifyReply): boolean;
}

export function consolePages(app: App): ConsolePages {
  const dir = app.config.consoleDir;
  // Read once: the page is small, and a release replaces the whole folder (and restarts).
  const indexPath = join(dir, 'index.html');
  const page = existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : null;
  return {
    plugin: async (server) => {
      server.get('/', { schema: { hide: true } }, async (_req, reply) => sendPage(reply, page ?? NOT_BUILT));
      if (!page) return;
      await server.register(fastifyStatic, {
        root: dir,
        prefix: '/',
        // One route per file present at start (the folder is a build's output): no directory walks.
        wildcard: false,
        index: false,
        cacheControl: false,
        setHeaders: (reply, path) => {
          const hashed = path.startsWith(join(dir, 'assets'));
          reply.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
          reply.header('x-content-type-options', 'nosniff');
          // /index.html itself, asked for by name: the same policy as the page at /.
          if (path.endsWith('.html')) reply.header('content-security-policy', CONSOLE_CSP).header('x-frame-options', 'DENY');
        },
      });
    },
    fallback(req, reply) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = req.url.split('?')[0]!;
      // A missing file at the root (/favicon.ico) is a 404; a user id may hold dots (/users/j.smith).
      if (NOT_CONSOLE.test(path) || /^\/[^/]*\.(?:ico|png|svg|js|css|map|json|txt|webmanifest)$/.test(path)) return false;
      void sendPage(reply, page ?? NOT_BUILT);
      return true;
    },
  };
}
