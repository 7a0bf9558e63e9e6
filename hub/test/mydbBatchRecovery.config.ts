/** MyDB settings shared by the recovery test and the hub process it kills. */
import { loadConfig, type MydbConfig } from '../src/config.ts';

export function batchTestMydb(): MydbConfig {
  return {
    ...loadConfig({}).mydb,
    batchPerUser: 1,
    batchTotal: 3,
    batchPollSeconds: 1,
    // A hub that has not beaten for 3 s has stopped.
    batchStaleSeconds: 3,
  };
}
