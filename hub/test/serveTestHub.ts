/**
 * A real hub on a fresh database for tests written in other languages (the `orrery` Python
 * client's pytest suite). Registers the users named on the command line, gives each a token
 * with exactly the scopes a server's own token has, prints one JSON line
 * `{"url", "users": {name: token}}`, and stops (dropping its database) when stdin closes.
 *
 *   node --import tsx hub/test/serveTestHub.ts alice bob
 */
import { SERVER_TOKEN_SCOPES } from '../src/routes.ts';
import { signUp, startTestHub } from './support.ts';

const names = process.argv.slice(2);
const hub = await startTestHub('pyclient');
const users: Record<string, string> = {};
for (const name of names) {
  const client = await signUp(hub.url, name);
  const minted = await client.post(`/hub/api/users/${name}/tokens`, {
    note: 'python client tests',
    scopes: SERVER_TOKEN_SCOPES,
  });
  if (minted.status !== 201) throw new Error(`token for ${name}: ${minted.status} ${minted.text}`);
  users[name] = minted.json.token;
}
process.stdout.write(`${JSON.stringify({ url: hub.url, users })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await hub.stop();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.on('SIGTERM', stop);
process.stdin.resume();
