import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express, type Response } from 'express';
import { NotFoundError } from '../errors';
import type { RouteDoc } from '../http/route-doc';

/**
 * What the console's page may do: load its own scripts, styles and images, and talk to this origin
 * only (REST, and WebSocket, which CSP 3 browsers match with 'self'). No inline script or style, no
 * frames, nothing sent to another host.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed asset names change with their content, so a browser may keep them for a year unasked. */
const ASSET_MAX_AGE_MS = 365 * 24 * 3600 * 1000;

function securityHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
}

/**
 * Serves the web console built by `npm run build:web` (web/build.mjs) from `dir`: `index.html` at `/`,
 * revalidated on every load (it names the current assets), and `/assets/*` with content-hashed names,
 * immutable. Registered before authentication: the page holds no data and asks for credentials itself.
 * Without a build, `/` answers 404 saying how to make one.
 */
export function registerConsoleRoutes(app: Express, dir: string | undefined): RouteDoc[] {
  const index = dir === undefined ? undefined : join(dir, 'index.html');
  app.get('/', (req, res, next) => {
    // Express also routes `//` here; only the page's own URL is the page.
    if (req.path !== '/') {
      next();
      return;
    }
    if (index === undefined || !existsSync(index))
      throw new NotFoundError('the web console is not built here: run `npm run build:web`');
    securityHeaders(res);
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index, { cacheControl: false, dotfiles: 'deny' }, (err) => {
      if (err) next(err);
    });
  });
  if (dir !== undefined) {
    app.use(
      '/assets',
      express.static(join(dir, 'assets'), {
        index: false,
        redirect: false,
        dotfiles: 'deny',
        immutable: true,
        maxAge: ASSET_MAX_AGE_MS,
        setHeaders: (res) => securityHeaders(res),
      }),
    );
  }
  return [
    {
      method: 'get',
      path: '/',
      tag: 'operations',
      summary: 'The web console (its assets under /assets/); it asks for credentials itself',
      produces: ['text/html'],
      authenticated: false,
      responses: { 200: 'The console page', 404: 'The console was not built' },
    },
  ];
}
