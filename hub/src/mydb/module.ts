/**
 * MyDB as a feature module: users' personal database spaces in the science database (never the
 * hub's). Opening it opens (and if need be creates) the science database, closes the hub's
 * database to every role not granted it, registers the account remover, listens to RACM's
 * changes, and brings PostgreSQL's grants in line with RACM before the first request; once
 * listening, a periodic round re-checks grants and quotas and sweeps MyScratch.
 */

import { deploymentIdentity } from '../compute/deployment.ts';
import { loadOrCreateKey } from '../compute/secrets.ts';
import { scienceDatabaseUrlOf } from '../config.ts';
import type { FeatureModule } from '../module.ts';
import { mydbInventory } from './inventory.ts';
import { mydbRoutes } from './routes.ts';
import { openScienceDatabase } from './science.ts';
import { MydbService } from './service.ts';

export const mydbModule: FeatureModule<MydbService> = {
  name: 'mydb',
  routes: mydbRoutes,
  async open({ hub }) {
    const { config, db, log } = hub;
    const { quotaBytes, tempFileLimitMb, workMemMb, statementTimeoutSeconds } = config.mydb;
    const { quickTimeoutSeconds, quickMaxRows, quickPerUser } = config.mydb;
    const { scratchMaxAgeHours, sweepSeconds } = config.mydb;
    const scienceUrl = scienceDatabaseUrlOf(config);
    const science = await openScienceDatabase(db, config.databaseUrl, scienceUrl, log);
    try {
      const mydb = new MydbService(db, science, {
        deploymentIdentity: await deploymentIdentity(db),
        key: loadOrCreateKey(config.secretKey, config.stateDir),
        quotaBytes,
        limits: { tempFileLimitMb, workMemMb, statementTimeoutSeconds },
        scienceUrl,
        quick: {
          timeoutSeconds: quickTimeoutSeconds,
          maxRows: quickMaxRows,
          perUser: quickPerUser,
        },
        rolePool: {
          perUser: config.mydb.quickKeptPerUser,
          total: config.mydb.quickKeptTotal,
          idleMs: config.mydb.quickKeptIdleSeconds * 1000,
        },
        scratchMaxAgeHours,
        batch: {
          timeoutSeconds: config.mydb.batchTimeoutSeconds,
          perUser: config.mydb.batchPerUser,
          total: config.mydb.batchTotal,
          queuedPerUser: config.mydb.batchQueuedPerUser,
          pollSeconds: config.mydb.batchPollSeconds,
          staleSeconds: config.mydb.batchStaleSeconds,
        },
        sessions: {
          idleSeconds: config.mydb.sessionIdleSeconds,
          perUser: config.mydb.sessionsPerUser,
        },
        log,
      });
      hub.accountRemovers.add('mydb', (removal) => mydb.removeAccount(removal));
      hub.accountRemovers.describe('mydb', (account) => mydbInventory(db, account));
      hub.accessChanges.add('mydb', () => mydb.accessChanged());
      await mydb.reconcile();
      let timer: NodeJS.Timeout | undefined;
      let round: Promise<void> = Promise.resolve();
      return {
        service: mydb,
        // Batch queries start once the hub serves requests; they stop before the pool closes.
        start() {
          mydb.start();
          timer = setInterval(() => {
            round = mydb
              .sweep()
              .catch((err) => log.warn({ err: String(err) }, 'the MyDB round failed'));
          }, sweepSeconds * 1000);
          timer.unref();
        },
        async close() {
          clearInterval(timer);
          await round;
          await mydb.close();
          await science.pool.end();
        },
      };
    } catch (err) {
      await science.pool.end();
      throw err;
    }
  },
};
