/** The hub as an operator runs it: the CLI, a real process, signals. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { migrate } from '../src/db/migrate.ts';
import { Client, createTestDatabase } from './support.ts';

const run = promisify(execFile);
let database: Awaited<ReturnType<typeof createTestDatabase>>;
const env = () => ({
  ...process.env,
  DATABASE_URL: database.url,
  ORRERY_ARGON2_MEMORY_KIB: '1024',
  ORRERY_ARGON2_TIME: '1',
});
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'hub/src/cli.ts', ...args], { env: env() });

before(async () => {
  database = await createTestDatabase('lifecycle');
});
after(async () => {
  await database.drop();
});

test('the CLI migrates, makes the first admin once, and prints its password', async () => {
  assert.match((await cli('migrate')).stdout, /applied: 0001_accounts/);
  assert.match((await cli('migrate')).stdout, /up to date/);
  const first = (await cli('ensure-admin', '--username', 'hubadmin')).stdout;
  const match = first.match(/admin login: hubadmin \/ (\S+)/);
  assert.ok(match, first);
  assert.match(
    (await cli('ensure-admin', '--username', 'other')).stdout,
    /an admin account exists/,
  );
  const token = (
    await cli('create-token', '--username', 'hubadmin', '--scopes', 'read:user')
  ).stdout.trim();
  assert.match(token, /^orr_/);
  await assert.rejects(cli('create-token', '--username', 'nobody'), /no user named nobody/);
});

test('a real hub process serves, then shuts down cleanly on SIGTERM', async () => {
  // This test makes its own admin: it needs nothing from the test before it.
  await migrate(database.url);
  const password = 'operator password';
  await run(
    process.execPath,
    ['--import', 'tsx', 'hub/src/cli.ts', 'create-admin', '--username', 'operator'],
    { env: { ...env(), ORRERY_ADMIN_PASSWORD: password } },
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'hub/src/main.ts'], {
    env: { ...env(), ORRERY_PORT: '0', ORRERY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      const found = output.match(/"url":"(http:\/\/[^"]+)"/);
      if (found) resolve(found[1]!);
    });
    child.once('exit', () => reject(new Error(`hub exited early: ${output}`)));
  });
  const admin = new Client(url);
  const login = await admin.post('/hub/api/login', { username: 'operator', password });
  assert.equal(login.status, 200);
  assert.equal(login.json.user.admin, true);
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.match(output, /shutting down/);
});

test('the hub process refuses to start with pending migrations and says how to fix it', async () => {
  const fresh = await createTestDatabase('pending');
  try {
    const result = await run(process.execPath, ['--import', 'tsx', 'hub/src/main.ts'], {
      env: { ...process.env, DATABASE_URL: fresh.url, ORRERY_PORT: '0' },
    }).catch((err: { code: number; stdout: string }) => err);
    assert.equal((result as { code: number }).code, 2);
    assert.match((result as { stdout: string }).stdout, /pending migration.*npm run migrate/);
  } finally {
    await fresh.drop();
  }
});
