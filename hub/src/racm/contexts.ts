/** The hub's own services register their RACM contexts and resource types at start. */
import type { Queryable } from '../db/pool.ts';
import { type ContextSpec, registerContext } from './store.ts';

export const CORE_CONTEXTS: ContextSpec[] = [
  {
    name: 'orrery.compute',
    description: 'Interactive servers and batch jobs',
    resourceTypes: [
      { name: 'DockerImage', description: 'A compute image users may start', actions: ['use'] },
      {
        name: 'ComputeDomain',
        description: 'A set of Docker hosts servers run on',
        actions: ['use'],
      },
      {
        name: 'Server',
        description:
          'A user’s server (named owner/server), made when first shared: access reaches it through the proxy, manage starts and stops it',
        actions: ['access', 'manage'],
      },
    ],
  },
  {
    name: 'orrery.files',
    description: 'Volumes of files',
    resourceTypes: [
      {
        name: 'UserVolume',
        description: 'A folder of files a user owns and shares',
        actions: ['read', 'write'],
        userCreatable: true,
      },
      {
        name: 'DataVolume',
        description: 'A read-only data set an operator registers',
        actions: ['read'],
      },
    ],
  },
  {
    name: 'orrery.mydb',
    description: 'MyDB and catalog databases',
    resourceTypes: [
      {
        name: 'DatabaseContext',
        description: 'A database users query',
        actions: ['submitQuery', 'read', 'write'],
      },
      {
        name: 'MyDB',
        description: 'A user’s whole MyDB, shared read-only',
        actions: ['read'],
      },
      {
        name: 'MyDBTable',
        description: 'One table of a user’s MyDB (named owner/table), shared read-only',
        actions: ['read'],
      },
    ],
  },
];

export async function registerCoreContexts(db: Queryable): Promise<void> {
  for (const context of CORE_CONTEXTS) await registerContext(db, context);
}
