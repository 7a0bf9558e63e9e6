import type { Request } from 'express';
import type { Queryable } from '../db/pool.ts';
import { type ActivityEvent, recordActivity } from './store.ts';

/** Record an event about a request, with the caller's address. */
export function recordFor(db: Queryable, req: Request, event: ActivityEvent): Promise<void> {
  return recordActivity(db, { address: req.ip ?? null, ...event });
}
