/** The counts behind the metrics that describe state rather than events: read at each scrape. */
import type { Queryable } from '../db/pool.ts';

export interface HubCounts {
  totalUsers: number;
  /** Servers by status: `starting` (a spawn pending), `running`, `stopping`. */
  servers: { starting: number; running: number; stopping: number };
  /** Users active (signed in, a server of theirs active, a job run) within 24 h, 7 d and 30 d. */
  activeUsers: { '24h': number; '7d': number; '30d': number };
}

export async function readCounts(db: Queryable): Promise<HubCounts> {
  const { rows } = await db.query({
    name: 'metrics-counts',
    // A user's last activity is the latest of their last sign-in, their servers' activity and
    // their batch jobs' (a running one's heartbeat, else its end), as in the user model
    // (accounts/userModel.ts).
    text: `WITH seen AS (
       SELECT GREATEST(u.last_login_at,
                       (SELECT max(s.last_activity_at) FROM servers s WHERE s.user_id = u.id),
                       (SELECT max(CASE WHEN j.status = 'running' THEN j.heartbeat_at
                                        ELSE j.finished_at END)
                          FROM jobs j WHERE j.user_id = u.id AND j.started_at IS NOT NULL)) AS at
       FROM users u
     )
     SELECT (SELECT count(*) FROM users)::int AS total,
            (SELECT count(*) FROM servers WHERE status = 'starting')::int AS starting,
            (SELECT count(*) FROM servers WHERE status = 'running')::int AS running,
            (SELECT count(*) FROM servers WHERE status = 'stopping')::int AS stopping,
            (SELECT count(*) FROM seen WHERE at >= now() - interval '24 hours')::int AS day,
            (SELECT count(*) FROM seen WHERE at >= now() - interval '7 days')::int AS week,
            (SELECT count(*) FROM seen WHERE at >= now() - interval '30 days')::int AS month`,
  });
  const row = rows[0];
  return {
    totalUsers: row.total,
    servers: { starting: row.starting, running: row.running, stopping: row.stopping },
    activeUsers: { '24h': row.day, '7d': row.week, '30d': row.month },
  };
}
