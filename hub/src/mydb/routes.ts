/** MyDB over HTTP: this slice has the user's space (made on first use). */
import { actorOf } from '../auth/actor.ts';
import { selfOrAdmin } from '../auth/guards.ts';
import { routesOf } from '../http/route.ts';
import { NameParams, NoQuery } from '../http/schemas.ts';
import { MydbSpace } from './responses.ts';
import type { MydbService } from './service.ts';

const route = routesOf<MydbService>();

export const mydbRoutes = [
  route({
    method: 'get',
    path: '/users/:name/mydb',
    tag: 'mydb',
    summary: 'A user’s MyDB: schema, role, quota and size; made on first use',
    access: { scope: 'read:mydb', guard: selfOrAdmin() },
    response: MydbSpace,
    lab: true,
    params: NameParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return service.spaceOf(actorOf(caller!, req), params.name);
    },
  }),
];
