/** `orrery-hub`: run the hub until SIGTERM or SIGINT, then shut down gracefully. */
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { PendingMigrationsError, startHub } from './server.ts';

const config = loadConfig(process.env, process.argv.slice(2));
const log = createLogger(config.logLevel);

try {
  const running = await startHub(config, log);
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
} catch (err) {
  if (err instanceof PendingMigrationsError) {
    log.error(err.message);
    process.exit(2);
  }
  log.error({ err }, 'hub failed to start');
  process.exit(1);
}
