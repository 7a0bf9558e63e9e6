/**
 * What every module and route handler may use, built once at start. Features are not here:
 * each is a module (module.ts) whose service its own handlers receive.
 */
import type { HubConfig } from './config.ts';
import type { Db } from './db/pool.ts';
import { RateLimiter } from './http/rateLimit.ts';
import type { Logger } from './log.ts';

export interface Hub {
  config: HubConfig;
  db: Db;
  log: Logger;
  limits: {
    loginPerAccount: RateLimiter;
    loginPerAddress: RateLimiter;
    apiPerUser: RateLimiter;
  };
  version: string;
}

export function createHub(config: HubConfig, db: Db, log: Logger): Hub {
  const loginWindow = config.loginWindowSeconds * 1000;
  return {
    config,
    db,
    log,
    limits: {
      loginPerAccount: new RateLimiter(config.loginAttemptsPerAccount, loginWindow),
      loginPerAddress: new RateLimiter(config.loginAttemptsPerAddress, loginWindow),
      apiPerUser: new RateLimiter(config.apiRequestsPerMinute, 60_000),
    },
    version: '0.1.0',
  };
}
