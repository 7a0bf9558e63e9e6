/**
 * Batch limits per compute domain (docs/jobs.md, "Limits"). They live beside the compute
 * domains they limit, in one variable naming the domains by their compute names:
 *
 *   ORRERY_JOB_DOMAINS="docker=8/2/86400;big=32/4/604800"
 *
 * Each entry is `domain=<running at once>/<running at once per user>/<longest run, seconds>`.
 * A compute domain not listed runs jobs with ORRERY_JOB_DEFAULTS (same `a/b/c` form, default
 * 4/2/86400); ORRERY_JOBS=0 keeps jobs queued on this hub (another hub may dispatch them).
 */
export interface BatchLimits {
  /** Jobs running at once in the domain, everyone's together. */
  maxRunning: number;
  /** Jobs of one user running at once in the domain. */
  maxRunningPerUser: number;
  /** The longest time limit a job may ask for, in seconds. */
  maxSeconds: number;
}

export interface JobsConfig {
  /** Limits of the domains named; the others take `defaults`. */
  domains: Record<string, BatchLimits>;
  defaults: BatchLimits;
  /** Does this hub start and watch job containers? */
  dispatch: boolean;
  /** How often the dispatcher looks at the queue and its containers, in milliseconds. */
  pollMs: number;
  /** A running job whose dispatcher has not said so for this long is taken over by another. */
  staleSeconds: number;
  /** Fair share forgets a finished run's seconds by half every this many seconds. */
  halfLifeSeconds: number;
}

const LIMITS = /^(\d+)\/(\d+)\/(\d+)$/;

export function parseLimits(text: string, what: string): BatchLimits {
  const match = LIMITS.exec(text.trim());
  const [maxRunning, maxRunningPerUser, maxSeconds] = (match?.slice(1) ?? []).map(Number);
  if (!match || !maxRunning || !maxRunningPerUser || !maxSeconds) {
    throw new Error(
      `${what}: "${text}" is not <running at once>/<per user>/<longest run in seconds>, all positive`,
    );
  }
  return { maxRunning, maxRunningPerUser, maxSeconds };
}

export function parseJobDomains(text: string | undefined): Record<string, BatchLimits> {
  const domains: Record<string, BatchLimits> = {};
  for (const entry of (text ?? '').split(';').map((e) => e.trim())) {
    if (!entry) continue;
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq).trim();
    if (eq < 1) throw new Error(`ORRERY_JOB_DOMAINS: "${entry}" is not domain=a/b/c`);
    if (Object.hasOwn(domains, name)) throw new Error(`ORRERY_JOB_DOMAINS names ${name} twice`);
    domains[name] = parseLimits(entry.slice(eq + 1), `ORRERY_JOB_DOMAINS ${name}`);
  }
  return domains;
}

export function loadJobsConfig(env: Record<string, string | undefined>): JobsConfig {
  return {
    domains: parseJobDomains(env.ORRERY_JOB_DOMAINS),
    defaults: parseLimits(env.ORRERY_JOB_DEFAULTS ?? '4/2/86400', 'ORRERY_JOB_DEFAULTS'),
    dispatch: env.ORRERY_JOBS !== '0',
    pollMs: Number(env.ORRERY_JOB_POLL_MS ?? 1000),
    staleSeconds: Number(env.ORRERY_JOB_STALE_SECONDS ?? 30),
    halfLifeSeconds: Number(env.ORRERY_JOB_HALF_LIFE_SECONDS ?? 3600),
  };
}

export const limitsOf = (config: JobsConfig, domain: string): BatchLimits =>
  config.domains[domain] ?? config.defaults;
