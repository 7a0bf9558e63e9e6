/**
 * A hub in a process of its own on a given database, for the batch recovery test to kill
 * abruptly. Prints one JSON line `{"url"}` once it listens.
 *
 *   node --import tsx hub/test/mydbBatchHub.ts <database url> <secret key>
 */
import { createLogger } from '../src/log.ts';
import { startHub } from '../src/server.ts';
import { batchTestMydb } from './mydbBatchRecovery.config.ts';
import { testConfig } from './support.ts';

const [databaseUrl, secretKey] = process.argv.slice(2);
if (!databaseUrl || !secretKey)
  throw new Error('usage: mydbBatchHub.ts <database url> <secret key>');
const config = testConfig(databaseUrl, { secretKey, mydb: batchTestMydb() });
const running = await startHub(config, createLogger('warn'));
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
