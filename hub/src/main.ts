/** `orrery-hub`: run the hub until SIGTERM or SIGINT, then shut down gracefully. */
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';

// Compiled, the hub must load the compiled spawner (the "production" export condition); without
// it Node reaches for spawner's TypeScript source and fails with "Unknown file extension".
if (import.meta.url.endsWith('.js') && import.meta.resolve('@orrery/spawner').endsWith('.ts')) {
  console.error(
    'orrery: run the compiled hub as node --conditions=production hub/dist/main.js (npm start -w hub)',
  );
  process.exit(1);
}
const { PendingMigrationsError, startHub } = await import('./server.ts');

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
