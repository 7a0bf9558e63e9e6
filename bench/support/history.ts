/**
 * The benchmark history: one JSON line per run in bench/history.jsonl (committed), holding the
 * date, the commit, the machine and each benchmark's key figures with their same-run ratios and
 * verdicts. A regression then shows as a diff of that file.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const HISTORY_FILE = fileURLToPath(new URL('../history.jsonl', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: results are JSON written by the benchmarks themselves.
type Result = any;

/** The commit the figures were measured on, and whether the work tree differed from it. */
export function currentCommit(): { commit: string; dirty: boolean } {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', '--short=12', 'HEAD'),
      dirty: git('status', '--porcelain') !== '',
    };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/** The figures worth comparing from run to run; absent benchmarks are left out. */
export function historyEntry(
  results: {
    racm?: Result;
    users?: Result;
    compute?: Result;
    mydbSpatial?: Result;
    mydb?: Result;
    jobs?: Result;
  },
  commit: { commit: string; dirty: boolean },
  date = new Date().toISOString(),
) {
  const { racm, users, compute, mydbSpatial, mydb, jobs } = results;
  const timing = (s: Result) =>
    s && {
      n: s.n,
      p50: s.p50,
      p99: s.p99,
      ratioP50: s.ratioP50,
      ratioP99: s.ratioP99,
      met: s.meetsTarget,
    };
  const machine = (racm ?? users ?? compute ?? mydbSpatial ?? mydb ?? jobs)?.machine;
  return {
    date,
    ...commit,
    machine: machine && {
      cpus: machine.cpus,
      node: machine.node,
      loadAverage1m: machine.loadAverage1m,
    },
    ...(racm && { racm: { may: timing(racm.may), listAllowed: timing(racm.listAllowed) } }),
    ...(users && {
      users: {
        wallMedianMs: users.hub?.median?.wallMs,
        vsBareHttp: users.ratios?.vsBareHttp?.wallMedian,
        met: users.meetsTarget,
      },
    }),
    ...(mydb && {
      mydb: {
        quickP50Ms: mydb.overhead?.hubP50,
        quickAddedVsFreshConnectionMs: mydb.overhead?.addedVsFreshConnectionMs,
        quickAddedVsKeptRoleMs: mydb.overhead?.addedVsKeptRoleMs,
        quickAddedVsKeptRoleP95Ms: mydb.overhead?.addedVsKeptRoleP95Ms,
        quickAddedVsHubApiMs: mydb.overhead?.addedVsHubApiMs,
        arrowVsPsql: mydb.throughput?.arrowVsPsql,
        csvVsPsql: mydb.throughput?.csvVsPsql,
      },
    }),
    ...(compute && {
      compute: {
        spawnP50Ms: compute.spawn?.hubMs?.p50,
        spawnVsBare: compute.spawn?.ratioP50,
        spawnMet: compute.spawn?.meetsTarget,
        concurrentAllSucceeded: compute.concurrent?.allSucceeded,
        httpRatios: compute.httpRatios,
        leftovers: compute.leftovers?.length,
      },
    }),
    ...(mydbSpatial && {
      mydbSpatial: {
        crossMatchZonesMs: mydbSpatial.crossMatch?.jitOff?.zones?.p50,
        crossMatchQ3cJoinMs: mydbSpatial.crossMatch?.jitOff?.q3cJoin?.p50,
        crossMatchRatio: mydbSpatial.crossMatch?.jitOff?.ratioExact,
        crossMatchMet: mydbSpatial.crossMatch?.meetsTarget,
        isolationP95Ratio: mydbSpatial.isolation?.p95Ratio,
        isolationMet: mydbSpatial.isolation?.meetsTarget,
      },
    }),
    ...(jobs && {
      jobs: {
        n: jobs.jobs,
        slots: jobs.slots,
        pollMs: jobs.pollMs,
        overheadPerJobMs: jobs.hub?.overheadPerJobMs,
        hubVsFloor: jobs.hub?.vsFloor,
        met: jobs.hub?.meetsTarget,
        claimP50Ms: jobs.database?.claim?.p50,
        fairShareNextSlot: jobs.fairShare?.startedAtNextFreeSlot,
      },
    }),
  };
}

export function appendHistory(entry: ReturnType<typeof historyEntry>, file = HISTORY_FILE): void {
  appendFileSync(file, `${JSON.stringify(entry)}\n`);
}
