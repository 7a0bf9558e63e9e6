/**
 * Prints a compact summary of bench/results/*.json: each figure with its floor, ratio and target.
 * With --append, also adds the run's key figures, date and commit to bench/history.jsonl.
 */
import { existsSync, readFileSync } from 'node:fs';
import { appendHistory, currentCommit, HISTORY_FILE, historyEntry } from './support/history.ts';
import { RESULTS_DIR } from './support/stats.ts';

// biome-ignore lint/suspicious/noExplicitAny: results are JSON written by the benchmarks themselves.
function load(name: string): any {
  const path = `${RESULTS_DIR}/${name}.json`;
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}

const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
const lines: string[] = ['', 'Summary'];
const racm = load('racm');
if (racm) {
  lines.push(
    `  racm (${racm.machine.date}, ${racm.machine.cpus} cores, load ${racm.machine.loadAverage1m}): seed ${racm.seed.totalSeconds} s`,
  );
  for (const name of ['may', 'listAllowed'] as const) {
    const s = racm[name];
    lines.push(
      `    ${name.padEnd(11)} ${s.n}/${s.planned}  p50 ${s.p50} ms  p99 ${s.p99} ms  vs SELECT 1 ${s.ratioP50}x / ${s.ratioP99}x  p99 < ${s.targetP99Ms} ms ${verdict(s.meetsTarget)}`,
    );
  }
}
const users = load('users');
if (users) {
  const { hub, ratios } = users;
  lines.push(
    `  users (${users.machine.date}, load ${users.machine.loadAverage1m}): ${users.requests} concurrent GETs  wall best ${hub.best.wallMs} ms, median ${hub.median.wallMs} ms  p50 ${hub.median.latency.p50} / p99 ${hub.median.latency.p99} ms`,
    `    vs bare http ${ratios.vsBareHttp.wallMedian}x wall, vs direct SQL ${ratios.vsDirectSql.wallMedian}x wall  wall < ${users.targetWallMs} ms ${verdict(users.meetsTarget)}`,
  );
}
const mounts = load('volumeMounts');
if (mounts) {
  const { share, unshare, floor, reapplyUnchanged: again } = mounts;
  lines.push(
    `  volumeMounts (${mounts.machine.date}, load ${mounts.machine.loadAverage1m}): share→visible p50 ${share.p50} ms max ${share.max} ms vs floor ${floor.p50} ms ${share.ratioP50}x  < ${share.targetMs} ms ${verdict(share.meetsTarget)}`,
    `    unshare→gone p50 ${unshare.p50} ms; re-apply ${again.volumes} unchanged p50 ${again.p50} ms`,
  );
}
const spatial = load('mydbSpatial');
if (spatial) {
  const { crossMatch: x, isolation: iso } = spatial;
  lines.push(
    `  mydbSpatial (${spatial.machine.date}, load ${spatial.machine.loadAverage1m}): cross-match 1' ${x.jitOff.pairs} pairs  zones ${x.jitOff.zones.p50} ms vs q3c_join ${x.jitOff.q3cJoin.p50} ms  ${x.jitOff.ratioExact}x <= ${x.target}x ${verdict(x.meetsTarget)}`,
    `    isolation p95 alone ${iso.alone.p95} ms, with huge sorts ${iso.withTwoSorts.p95} ms  ${iso.p95Ratio}x <= ${iso.target}x ${verdict(iso.meetsTarget)}`,
  );
}
const files = load('files');
if (files) {
  const { throughput: t, list } = files;
  lines.push(
    `  files (${files.machine.date}, load ${files.machine.loadAverage1m}): ${t.bytes / 2 ** 20} MiB  copy ${t.copyMiBs} MiB/s  upload ${t.uploadMiBs} MiB/s (${t.uploadVsCopy}x)  download ${t.downloadMiBs} MiB/s (${t.downloadVsCopy}x)  ≥ ${t.target}x ${verdict(t.meetsTarget)}`,
    `    list ${list.files} files  API p50 ${list.api.p50} ms  ls -l p50 ${list.ls.p50} ms (${list.ratioP50}x)  < ${list.targetMs} ms ${verdict(list.meetsTarget)}`,
  );
}
const mydb = load('mydb');
if (mydb) {
  const { overhead, streaming, throughput, targets } = mydb;
  lines.push(
    `  mydb (${mydb.machine.date}, load ${mydb.machine.loadAverage1m}): SELECT 1 p50 hub ${overhead.hubP50} ms, kept role connection ${overhead.keptRoleP50} ms, fresh connection ${overhead.freshConnectionP50} ms, psql -c ${overhead.psqlP50} ms  adds ${overhead.addedVsKeptRoleMs} ms (p95 ${overhead.addedVsKeptRoleP95Ms}) < ${targets.overheadMs} ms vs the kept role connection ${verdict(targets.overheadMet)}`,
    `    ${mydb.rows} rows: psql COPY ${streaming.psqlCopyMs} ms, Arrow ${throughput.arrowVsPsql}x, CSV ${throughput.csvVsPsql}x  ≥ ${targets.throughput}x ${verdict(targets.arrowMet && targets.csvMet)}`,
  );
}
const jobs = load('jobs');
if (jobs) {
  const { hub, floor, fairShare: fair, database: d } = jobs;
  lines.push(
    `  jobs (${jobs.machine.date}, load ${jobs.machine.loadAverage1m}): ${jobs.jobs} trivial jobs, ${jobs.slots} at once, poll ${jobs.pollMs} ms  hub wall ${hub.wallMs} ms vs bare containers ${floor.wallMs} ms (${hub.vsFloor}x)  ${hub.overheadPerJobMs} ms per job < ${hub.targetMs} ms ${verdict(hub.meetsTarget)}`,
    `    fair share: bob's one job claimed after ${fair.bobStartedAfterAliceJobs} of alice's, ${fair.aliceJobsClaimedWhileBobWaited} of hers claimed while it waited  claim p50 ${d.claim.p50} ms, record p50 ${d.record.p50} ms (SELECT 1 ${d.select1.p50} ms)`,
  );
}
console.log(lines.join('\n'));
if (process.argv.includes('--append')) {
  const results = { racm, users, compute: load('compute'), mydbSpatial: spatial, mydb, jobs };
  appendHistory(historyEntry(results, currentCommit()));
  console.log(`appended this run to ${HISTORY_FILE}`);
}
