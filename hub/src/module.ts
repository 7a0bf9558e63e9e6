/**
 * A feature of the hub (accounts, groups, compute, and later MyDB, files, jobs, courses) is one
 * folder with one `module.ts` exporting a FeatureModule: its name, its API routes declared as
 * data, and `open`, which builds its service from typed dependencies. modules.ts lists the
 * modules in order and composes them; nothing is filled in late and nothing is nullable: a
 * hub composed without a module simply has none of its routes.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TSchema } from '@sinclair/typebox';
import type express from 'express';
import type { RouteDef } from './http/route.ts';
import type { Hub } from './hub.ts';

/** Requests a module answers before express: their bodies stream on untouched. */
export interface FrontHandler {
  matches(url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

/** Everything a module may ask for when it opens; each module's `open` names the part it needs. */
export interface ModuleDeps {
  /** Configuration, database, log and the shared rate limiters. */
  hub: Hub;
  /** The hub's HTTP application, for a module that serves it on more addresses (compute). */
  serveApi: RequestListener;
  /** The API route table of the hub being composed (every composed module's routes). */
  routes: readonly RouteDef[];
  /** The service of a module opened earlier; throws at start when the order is wrong. */
  use<S>(module: FeatureModule<S>): S;
  /** Was this module composed and opened earlier? For a module that works without another. */
  has<S>(module: FeatureModule<S>): boolean;
}

/** A module once opened: what it serves and how it starts and stops. */
export interface OpenModule<S> {
  /** What the module's route handlers receive as `service`, and later modules get from `use`. */
  service: S;
  /** Browser routes outside /hub/api (sign-in pages, single sign-on), mounted in module order. */
  pages?: express.Router;
  /** Requests answered before express sees them (the proxy to users' servers). */
  front?: FrontHandler;
  /** The hub listens on `url` now: start background loops. */
  start?(listening: { url: string }): void | Promise<void>;
  /** Stop loops and release what `open` took. Modules close in reverse order. */
  close?(): Promise<void>;
}

export interface FeatureModule<S = undefined> {
  readonly name: string;
  /** The module's API routes; handlers receive the service `open` returns. */
  readonly routes: readonly RouteDef<TSchema, TSchema, TSchema, S>[];
  /**
   * Build the service and take what it needs (registrations, listeners, backends). Requests
   * are not served yet; anything that must hold before the first one (compute's route table)
   * is done here.
   */
  open(deps: ModuleDeps): Promise<OpenModule<S>>;
}

/** A module with routes only: no service, nothing to start or close. */
export function routesModule(name: string, routes: readonly RouteDef[]): FeatureModule {
  return { name, routes, open: async () => ({ service: undefined }) };
}
