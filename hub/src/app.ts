/** Builds the express application: middleware order is the security story, so it reads top to bottom. */
import cookieParser from 'cookie-parser';
import express from 'express';
import { JUPYTERHUB_API_VERSION } from './accounts/hubDetails.ts';
import { userOriginOf } from './auth/userOrigin.ts';
import { handoffRoutes } from './auth/userOriginHandoff.ts';
import { xsrf } from './auth/xsrf.ts';
import { errorWriter, HttpError } from './http/errors.ts';
import { API_BASE, buildOpenApi } from './http/openapi.ts';
import { buildRouter } from './http/router.ts';
import type { Hub } from './hub.ts';
import { clip } from './log.ts';
import type { ComposedModules } from './modules.ts';

export function createApp(
  hub: Hub,
  modules: Pick<ComposedModules, 'routes' | 'pages'>,
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Only the configured proxies: a private range would include the containers' own networks.
  app.set('trust proxy', hub.config.trustProxy.length > 0 ? hub.config.trustProxy : false);
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      hub.log.debug(
        {
          method: req.method,
          path: clip(req.path, 120),
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
        },
        'request',
      );
    });
    res.set({
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'X-Frame-Options': 'DENY',
    });
    next();
  });
  app.use(cookieParser());
  app.use(express.json({ limit: hub.config.maxBodyBytes }));
  app.use(
    express.urlencoded({ extended: false, limit: hub.config.maxBodyBytes, parameterLimit: 50 }),
  );
  app.use(xsrf(hub.config.secureCookies));

  const openapi = buildOpenApi(modules.routes, hub.version);
  app.get(`${API_BASE}/openapi.json`, (_req, res) => {
    res.json(openapi);
  });
  // A route served at a second path too (JupyterHub's /hub/metrics) goes through the same router.
  for (const def of modules.routes) {
    if (!def.alsoAt) continue;
    const target = `${API_BASE}${def.path}`;
    app.get(def.alsoAt, (req, _res, next) => {
      const query = req.url.indexOf('?');
      req.url = query < 0 ? target : `${target}${req.url.slice(query)}`;
      next();
    });
  }
  // As JupyterHub does on every API answer; jupyterhub-singleuser reads it when it starts.
  app.use(API_BASE, (_req, res, next) => {
    res.set('X-JupyterHub-Version', JUPYTERHUB_API_VERSION);
    next();
  });
  app.use(API_BASE, buildRouter(hub, modules.routes));
  app.use(API_BASE, (req, _res, next) =>
    next(new HttpError(404, `No API route ${req.method} ${clip(req.path, 100)}`)),
  );
  const userOrigin = userOriginOf(hub.config);
  if (userOrigin) app.use(handoffRoutes(hub, userOrigin));
  for (const pages of modules.pages) app.use(pages);
  app.use((req, _res, next) => next(new HttpError(404, `Nothing at ${clip(req.path, 100)}`)));
  app.use(errorWriter(hub.log));
  return app;
}
