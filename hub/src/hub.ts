/**
 * What every module and route handler may use, built once at start. Features are not here:
 * each is a module (module.ts) whose service its own handlers receive.
 */
import { AccountRemovers } from './accounts/removers.ts';
import { LoginBackoff } from './auth/loginBackoff.ts';
import type { HubConfig } from './config.ts';
import type { Db } from './db/pool.ts';
import { ConnectionCap } from './http/connectionCap.ts';
import { RateLimiter } from './http/rateLimit.ts';
import type { Logger } from './log.ts';
import { HubEvents } from './metrics/events.ts';
import { AccessChanges } from './racm/changes.ts';

export interface Hub {
  config: HubConfig;
  db: Db;
  log: Logger;
  limits: {
    /** Wrong passwords per (account, address). */
    loginBackoff: LoginBackoff;
    loginPerAddress: RateLimiter;
    registerPerAddress: RateLimiter;
    apiPerUser: RateLimiter;
    /** Open spawn-progress streams and proxied WebSockets per user. */
    eventStreamsPerUser: ConnectionCap;
    webSocketsPerUser: ConnectionCap;
  };
  version: string;
  /** What each feature removes of a deleted account (modules add theirs when they open). */
  accountRemovers: AccountRemovers;
  /** Told after RACM privileges or group memberships change (modules listen when they open). */
  accessChanges: AccessChanges;
  /** What happened (requests, spawns, RACM checks), for whoever measures it (metrics/). */
  events: HubEvents;
}

export function createHub(config: HubConfig, db: Db, log: Logger): Hub {
  const loginWindow = config.loginWindowSeconds * 1000;
  return {
    config,
    db,
    log,
    limits: {
      loginBackoff: new LoginBackoff({
        freeFailures: config.loginFailuresBeforeBackoff,
        baseMs: config.loginBackoffSeconds * 1000,
        maxMs: config.loginBackoffMaxSeconds * 1000,
        forgetMs: loginWindow,
      }),
      loginPerAddress: new RateLimiter(config.loginAttemptsPerAddress, loginWindow),
      registerPerAddress: new RateLimiter(
        config.registrationsPerAddress,
        config.registrationWindowSeconds * 1000,
      ),
      apiPerUser: new RateLimiter(config.apiRequestsPerMinute, 60_000),
      eventStreamsPerUser: new ConnectionCap(config.maxEventStreamsPerUser),
      webSocketsPerUser: new ConnectionCap(config.maxWebSocketsPerUser),
    },
    version: '0.1.0',
    accountRemovers: new AccountRemovers(),
    accessChanges: new AccessChanges(log),
    events: new HubEvents(log),
  };
}
