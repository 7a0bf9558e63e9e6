/**
 * JupyterHub issue #2733 as a benchmark: 200 concurrent `GET /hub/api/users/<name>`
 * with an admin token against a real hub, timed against two floors measured in
 * the same run: a bare node http server answering a small JSON (same client
 * code), and the equivalent SELECTs sent straight to PostgreSQL.
 * Run: npx tsx bench/users.ts
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAccount } from '../hub/src/accounts/service.ts';
import { findUserByName } from '../hub/src/accounts/store.ts';
import { createToken, lookupToken } from '../hub/src/auth/tokens.ts';
import { loadConfig } from '../hub/src/config.ts';
import { createPool, inTransaction } from '../hub/src/db/pool.ts';
import { startHub } from '../hub/src/server.ts';
import { createBenchDatabase } from './support/database.ts';
import { machine, msSince, ratio, type Summary, summarise, writeResult } from './support/stats.ts';

const USERS = 200;
const ROUNDS = 3;
const TARGET_MS = 1000;

interface Round {
  wallMs: number;
  latency: Summary;
}

/** Fire `count` requests at once; each resolves with its latency. One client for every series. */
async function burst(count: number, request: (index: number) => Promise<void>): Promise<Round> {
  const start = process.hrtime.bigint();
  const latencies = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const began = process.hrtime.bigint();
      await request(index);
      return msSince(began);
    }),
  );
  return { wallMs: Math.round(msSince(start) * 10) / 10, latency: summarise(latencies) };
}

async function httpGet(url: string, token: string): Promise<void> {
  const res = await fetch(url, { headers: { authorization: `token ${token}` } });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 200)}`);
}

/** A warm-up burst that is thrown away, then ROUNDS counted ones: best and median by wall time. */
async function series(request: (index: number) => Promise<void>) {
  const cold = await burst(USERS, request);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await burst(USERS, request));
  const byWall = [...rounds].sort((a, b) => a.wallMs - b.wallMs);
  return {
    coldWallMs: cold.wallMs,
    best: byWall[0]!,
    median: byWall[Math.floor(byWall.length / 2)]!,
    rounds,
  };
}

/** The floor for the HTTP side: a bare node server answering a small JSON on loopback. */
async function bareServer(): Promise<{ server: Server; url: string }> {
  const body = JSON.stringify({
    name: 'user1',
    safe_name: 'user1',
    email: null,
    admin: false,
    approved: true,
    created: new Date().toISOString(),
    last_login: null,
  });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function main() {
  const database = await createBenchDatabase('users');
  const config = {
    ...loadConfig({
      ORRERY_PORT: '0',
      DATABASE_URL: database.url,
      ORRERY_ARGON2_MEMORY_KIB: '1024',
      ORRERY_ARGON2_TIME: '1',
    }),
    migrateOnStart: true,
    logLevel: 'warn',
    apiRequestsPerMinute: 1_000_000,
  };
  const running = await startHub(config);
  const direct = createPool(database.url);
  const bare = await bareServer();
  try {
    const db = running.hub.db;
    const { admin, names } = await inTransaction(db, async (client) => {
      const admin = await createAccount(
        client,
        config,
        { username: 'benchadmin', admin: true, approved: true },
        { type: 'user.create' },
      );
      const names: string[] = [];
      for (let i = 1; i <= USERS; i++) {
        const user = await createAccount(
          client,
          config,
          { username: `user${i}`, approved: true },
          { type: 'user.create', actorId: admin.id },
        );
        names.push(user.name);
      }
      return { admin, names };
    });
    const { token } = await createToken(db, admin.id, { scopes: ['all'], seconds: 3600 });
    // One token per request, to tell apart the cost of every request touching one token row.
    const tokens = await Promise.all(
      names.map(
        async () => (await createToken(db, admin.id, { scopes: ['all'], seconds: 3600 })).token,
      ),
    );
    await db.query('ANALYZE');

    const hub = await series((i) => httpGet(`${running.url}/hub/api/users/${names[i]}`, token));
    const hubDistinctTokens = await series((i) =>
      httpGet(`${running.url}/hub/api/users/${names[i]}`, tokens[i]!),
    );
    const floorHttp = await series((i) => httpGet(`${bare.url}/hub/api/users/${names[i]}`, token));
    const floorSql = await series(async (i) => {
      if (!(await findUserByName(direct, names[i]!))) throw new Error(`no user ${names[i]}`);
    });

    // The first query of every request, alone: one token row for all, or a row each.
    const tokenSameRow = await series(async () => {
      if (!(await lookupToken(direct, token))) throw new Error('token not found');
    });
    const tokenDistinctRows = await series(async (i) => {
      if (!(await lookupToken(direct, tokens[i]!))) throw new Error('token not found');
    });

    const vs = (floor: typeof hub) => ({
      wallBest: ratio(hub.best.wallMs, floor.best.wallMs),
      wallMedian: ratio(hub.median.wallMs, floor.median.wallMs),
      p50: ratio(hub.median.latency.p50, floor.median.latency.p50),
      p99: ratio(hub.median.latency.p99, floor.median.latency.p99),
    });
    const result = {
      benchmark: 'users',
      machine: await machine(),
      requests: USERS,
      rounds: ROUNDS,
      hubPoolSize: running.hub.db.options.max,
      targetWallMs: TARGET_MS,
      meetsTarget: hub.median.wallMs < TARGET_MS,
      hub,
      hubDistinctTokens,
      floorHttp,
      floorSql,
      lookupToken: { sameRow: tokenSameRow, distinctRows: tokenDistinctRows },
      ratios: { vsBareHttp: vs(floorHttp), vsDirectSql: vs(floorSql) },
    };
    const path = writeResult('users', result);
    const line = (name: string, s: typeof hub) =>
      `  ${name.padEnd(22)} wall best ${s.best.wallMs} ms, median ${s.median.wallMs} ms (cold ${s.coldWallMs} ms); latency p50 ${s.median.latency.p50} / p99 ${s.median.latency.p99} ms`;
    console.log(`users: ${USERS} concurrent GET /hub/api/users/<name>, ${ROUNDS} rounds`);
    console.log(line('hub (one admin token)', hub));
    console.log(line('hub (200 tokens)', hubDistinctTokens));
    console.log(line('floor: bare http', floorHttp));
    console.log(line('floor: direct SELECT', floorSql));
    console.log(line('lookupToken, 1 token', tokenSameRow));
    console.log(line('lookupToken, 200 tokens', tokenDistinctRows));
    console.log(
      `  ratios (median round) vs bare http ${JSON.stringify(result.ratios.vsBareHttp)}, vs SQL ${JSON.stringify(result.ratios.vsDirectSql)}; target wall < ${TARGET_MS} ms: ${result.meetsTarget ? 'met' : 'MISSED'}`,
    );
    console.log(`  results: ${path}`);
  } finally {
    await new Promise((resolve) => bare.server.close(resolve));
    await direct.end();
    await running.close();
    await database.drop();
  }
}

await main();
