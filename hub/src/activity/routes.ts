/** Searching the activity log: your own history, or (admins) everyone's. */
import { Type } from '@sinclair/typebox';
import { userNamed } from '../accounts/service.ts';
import { HttpError } from '../http/errors.ts';
import { route } from '../http/route.ts';
import { Id, Username } from '../http/schemas.ts';
import { ActivityPage } from './responses.ts';
import { searchActivity } from './store.ts';

export const activityRoutes = [
  route({
    method: 'get',
    path: '/activity',
    tag: 'activity',
    summary:
      'Search activity: type (or prefix.*), time range, text; admins may name a user or see all',
    access: { scope: 'read:activity' },
    response: ActivityPage,
    query: Type.Object(
      {
        type: Type.Optional(
          Type.String({ maxLength: 100, pattern: '^[a-z_]+(\\.[a-z_]+|\\.\\*)?$' }),
        ),
        since: Type.Optional(Type.String({ format: 'date-time' })),
        until: Type.Optional(Type.String({ format: 'date-time' })),
        q: Type.Optional(Type.String({ maxLength: 200 })),
        user: Type.Optional(Username),
        all: Type.Optional(Type.Boolean()),
        before: Type.Optional(Id),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      },
      { additionalProperties: false },
    ),
    async handler({ hub, caller, query }) {
      const admin = caller!.scopes.has('admin');
      let userId: number | undefined = caller!.user.id;
      if (query.user && query.user !== caller!.user.name) {
        if (!admin)
          throw new HttpError(403, 'Only platform admins can search other users’ activity');
        userId = (await userNamed(hub.db, query.user)).id;
      } else if (query.all) {
        if (!admin) throw new HttpError(403, 'Only platform admins can search everyone’s activity');
        userId = undefined;
      }
      const events = await searchActivity(hub.db, {
        ...(userId !== undefined ? { userId } : {}),
        ...(query.type ? { type: query.type } : {}),
        ...(query.since ? { since: query.since } : {}),
        ...(query.until ? { until: query.until } : {}),
        ...(query.q ? { text: query.q } : {}),
        ...(query.before ? { before: query.before } : {}),
        limit: query.limit ?? 100,
      });
      return { events };
    },
  }),
];
