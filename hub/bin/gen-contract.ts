/** Rewrite the generated lab-side contract files from the route table (`npm run contract`). */
import { writeFileSync } from 'node:fs';
import {
  ALLOWLIST_PATH,
  allowlistFile,
  HUB_API_TYPES_PATH,
  hubApiTypesFile,
} from '../src/contractFiles.ts';
import { apiRoutes } from '../src/routes.ts';

writeFileSync(ALLOWLIST_PATH, allowlistFile(apiRoutes));
console.log(`wrote ${ALLOWLIST_PATH}`);
writeFileSync(HUB_API_TYPES_PATH, await hubApiTypesFile(apiRoutes));
console.log(`wrote ${HUB_API_TYPES_PATH}`);
