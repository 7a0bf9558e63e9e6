/** The hub as an operator runs it: the CLI, a real process, signals. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
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
    await cli('create-token', '--username', 'hubadmin', '--scopes', 'read:users')
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

test('the compiled hub (npm run build, then node on hub/dist, no tsx) starts, serves pages and the API, and stops', {
  timeout: 300_000,
}, async () => {
  // The production path: tsc to dist (hub and spawner) and the bundled page assets.
  await run('npm', ['run', 'build'], { env: env(), maxBuffer: 16 * 1024 * 1024 });
  await migrate(database.url);
  // Without the production condition it says how to run it instead of failing on a .ts file.
  const plain = await run(process.execPath, ['hub/dist/main.js'], { env: env() }).catch(
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal((plain as { code: number }).code, 1);
  assert.match((plain as { stderr: string }).stderr, /--conditions=production/);
  const child = spawn(process.execPath, ['--conditions=production', 'hub/dist/main.js'], {
    env: { ...env(), ORRERY_PORT: '0', ORRERY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`the compiled hub did not say where it listens within 60 s: ${output}`)),
        60_000,
      );
      const read = (chunk: Buffer) => {
        output += chunk;
        const found = output.match(/"url":"(http:\/\/[^"]+)"/);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]!);
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`the compiled hub exited early: ${output}`));
      });
    });
    const visitor = new Client(url);
    assert.equal((await visitor.get('/hub/api/')).status, 200);
    const login = await visitor.get('/hub/login');
    assert.equal(login.status, 200);
    assert.match(login.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    // The page's script comes from the assets the build wrote, not from a bundle made at start.
    const script = login.text.match(/src="(\/hub\/static\/forms\.js\?v=[0-9a-f]+)"/);
    assert.ok(script, login.text);
    const served = await visitor.get(script[1]!);
    assert.equal(served.status, 200);
    assert.equal(served.text, readFileSync('hub/dist/static/forms.js', 'utf8'));
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, output);
});
