/** Sharing servers as a feature module: the share routes, the accept page, a sweep of old codes. */
import type { FeatureModule } from '../module.ts';
import { acceptShareRoutes } from './acceptPage.ts';
import { shareRoutes } from './routes.ts';
import { SharesService } from './service.ts';

const SWEEP_MS = 3600_000;

export const sharesModule: FeatureModule<SharesService> = {
  name: 'shares',
  routes: shareRoutes,
  async open({ hub }) {
    const service = new SharesService(hub);
    let sweeper: NodeJS.Timeout | undefined;
    return {
      service,
      pages: acceptShareRoutes(hub, service),
      start() {
        sweeper = setInterval(() => {
          service
            .sweep()
            .catch((err) => hub.log.warn({ err: String(err) }, 'share code sweep failed'));
        }, SWEEP_MS);
        sweeper.unref();
      },
      async close() {
        clearInterval(sweeper);
      },
    };
  },
};
