/**
 * The API contract is written once, in the route table: every answer is declared, the answers
 * are checked against the declarations, and the lab-side files generated from it are fresh.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import express from 'express';
import { effectiveScopes } from '../../src/auth/scopes.ts';
import {
  ALLOWLIST_PATH,
  allowlistFile,
  HUB_API_TYPES_PATH,
  hubApiTypesFile,
} from '../../src/contractFiles.ts';
import { errorWriter } from '../../src/http/errors.ts';
import { buildOpenApi } from '../../src/http/openapi.ts';
import { type RouteDef, route, routeId } from '../../src/http/route.ts';
import { buildRouter } from '../../src/http/router.ts';
import type { Hub } from '../../src/hub.ts';
import { labRoutes, labTokenScopes } from '../../src/labContract.ts';
import { createLogger } from '../../src/log.ts';
import { HubEvents } from '../../src/metrics/events.ts';
import { apiRoutes, SERVER_TOKEN_SCOPES } from '../../src/routes.ts';

test('every route declares its answer: a JSON schema, an event schema, or none for 204', () => {
  const missing: string[] = [];
  for (const def of apiRoutes) {
    const status = def.status ?? 200;
    if (status === 204 && (def.response || def.events))
      missing.push(`${routeId(def)} (204 with a body)`);
    if (status !== 204 && !def.response && !def.events) missing.push(routeId(def));
  }
  assert.deepEqual(missing, [], 'declare response: on these routes');
});

test('the OpenAPI document carries each declared answer', () => {
  const doc = buildOpenApi(apiRoutes, 'test') as {
    paths: Record<string, Record<string, { responses: Record<string, { content?: object }> }>>;
  };
  for (const def of apiRoutes) {
    const path = def.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const status = String(def.status ?? 200);
    const content = doc.paths[path]?.[def.method]?.responses[status]?.content as
      | Record<string, { schema: unknown }>
      | undefined;
    if (status === '204') assert.equal(content, undefined, routeId(def));
    else if (def.events) assert.equal(content?.['text/event-stream']?.schema, def.events);
    else
      assert.equal(
        content?.[def.contentType ?? 'application/json']?.schema,
        def.response,
        routeId(def),
      );
  }
});

/** A hub with just what an anonymous route needs, and its log lines. */
function stubHub(validateResponses: boolean) {
  const lines: string[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(line) });
  const hub = { config: { validateResponses }, log, events: new HubEvents() } as unknown as Hub;
  return { hub, lines, log };
}

async function serve(validate: boolean, def: RouteDef) {
  const { hub, lines, log } = stubHub(validate);
  const app = express();
  app.use(buildRouter(hub, [def]));
  app.use(errorWriter(log));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${def.path}`;
  const res = await fetch(url);
  const body = await res.json();
  server.close();
  return { status: res.status, body, lines };
}

const drifting = route({
  method: 'get',
  path: '/drift',
  tag: 't',
  summary: 's',
  access: { anonymous: true },
  response: Type.Object(
    { name: Type.String(), at: Type.String({ format: 'date-time' }) },
    { additionalProperties: false },
  ),
  // A field the declaration does not know, and a Date that serialises to a valid date-time.
  handler: async () => ({ name: 'x', at: new Date(0), secret: 'leaked' }),
});

test('with validateResponses, an answer off its schema is a logged 500 naming the mismatch', async () => {
  const { status, body, lines } = await serve(true, drifting);
  assert.equal(status, 500);
  assert.equal(body.error, 'response_mismatch');
  assert.match(body.message, /GET \/drift/);
  const logged = lines.map((line) => JSON.parse(line)).find((l) => l.route === 'GET /drift');
  assert.ok(logged, 'the mismatch is logged');
  assert.deepEqual(logged.mismatches, ['/ must NOT have additional properties (secret)']);
});

test('without validateResponses (production), the answer goes out unchecked', async () => {
  const { status, body } = await serve(false, drifting);
  assert.equal(status, 200);
  assert.equal(body.secret, 'leaked');
});

test('an answer that matches passes the check (Dates count as their JSON strings)', async () => {
  const fitting = {
    ...drifting,
    path: '/fits',
    handler: async () => ({ name: 'x', at: new Date(0) }),
  };
  const { status, body } = await serve(true, fitting);
  assert.equal(status, 200);
  assert.deepEqual(body, { name: 'x', at: '1970-01-01T00:00:00.000Z' });
});

test('the committed lab allow-list is generated from the lab routes (run "npm run contract")', () => {
  assert.equal(readFileSync(ALLOWLIST_PATH, 'utf8'), allowlistFile(apiRoutes));
});

test('the committed hub API types are generated from the OpenAPI document (run "npm run contract")', async () => {
  assert.equal(readFileSync(HUB_API_TYPES_PATH, 'utf8'), await hubApiTypesFile(apiRoutes));
});

test('lab routes compile to whole-path patterns that take one segment per parameter', () => {
  const patterns = new Map(labRoutes(apiRoutes).map((r) => [`${r.method} ${r.path}`, r.pattern]));
  const member = new RegExp(`^(?:${patterns.get('DELETE groups/:id/members/:username')})$`);
  assert.ok(member.test('groups/7/members/a%2Fb'));
  assert.ok(!member.test('groups/7/members/a/b'));
  assert.ok(!member.test('groups/7/members/'));
  // Never forwarded from the page: minting tokens, starting servers, RACM.
  for (const refused of [
    'POST users/:name/tokens',
    'POST users/:name/server',
    'POST users/:name/servers/:server',
  ])
    assert.ok(!patterns.has(refused), refused);
  assert.ok(![...patterns.keys()].some((key) => key.includes('racm')));
});

test('the per-server token holds exactly the scopes the lab routes need, nothing more', () => {
  assert.deepEqual(SERVER_TOKEN_SCOPES, labTokenScopes(apiRoutes));
  assert.deepEqual(SERVER_TOKEN_SCOPES, [
    'read:users',
    'read:users:name',
    'list:users',
    'users:activity',
    'read:groups',
    'groups',
    'read:servers',
    'read:shares',
    'shares',
    'read:users:shares',
    'read:mydb',
    'mydb',
    'read:files',
    'files',
    'read:jobs',
    'jobs',
  ]);
  const held = effectiveScopes(SERVER_TOKEN_SCOPES, true);
  for (const scope of [
    'racm',
    'read:racm',
    'read:activity',
    'tokens',
    'servers',
    'delete:servers',
    'access:servers',
    'admin',
    'admin:users',
    'all',
  ])
    assert.ok(!held.has(scope as never), `the server token must not hold ${scope}`);
  for (const def of apiRoutes.filter((d) => d.lab)) {
    assert.ok('scope' in def.access, `${routeId(def)}: a lab route needs a scope`);
    assert.ok(held.has(def.access.scope), `${routeId(def)}: the server token lacks its scope`);
  }
});

/** Every property name a schema declares, noted with the route it belongs to. */
function fieldNames(schema: unknown, into: Map<string, string>, where: string): void {
  if (!schema || typeof schema !== 'object') return;
  if (Array.isArray(schema)) {
    for (const item of schema) fieldNames(item, into, where);
    return;
  }
  const node = schema as Record<string, unknown>;
  for (const [name, value] of Object.entries((node.properties as object | undefined) ?? {})) {
    into.set(name, where);
    fieldNames(value, into, where);
  }
  for (const key of ['items', 'anyOf', 'oneOf', 'allOf', 'additionalProperties'])
    fieldNames(node[key], into, where);
}

// Field names in paths, bodies, query strings and answers are snake_case (docs/api.md, "Naming").
test('JSON fields, query and path parameters are snake_case', () => {
  const names = new Map<string, string>();
  for (const def of apiRoutes)
    for (const part of [def.params, def.body, def.query, def.response, def.events])
      fieldNames(part, names, routeId(def));
  const offending = [...names]
    .filter(([name]) => /[A-Z]/.test(name))
    .map(([name, where]) => `${name} (${where})`);
  assert.deepEqual(offending, [], 'use snake_case (docs/api.md, "Naming")');
});
