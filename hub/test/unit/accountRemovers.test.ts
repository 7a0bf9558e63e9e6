/** What deleting an account removes, as the features say it: in order, empty features left out. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccountRemovers } from '../../src/accounts/removers.ts';

const account = { userId: 7, name: 'ann', safeName: 'ann' };

test('whatGoes asks every feature, in the order they registered, and leaves out those with nothing', async () => {
  const removers = new AccountRemovers();
  const asked: string[] = [];
  removers.describe('compute', async (who) => {
    asked.push(`compute:${who.name}`);
    return ['2 servers stopped', 'the workspace'];
  });
  removers.describe('jobs', async () => {
    asked.push('jobs');
    return [];
  });
  removers.describe('files', async () => {
    asked.push('files');
    return ['1 volume: Storage/ann/x'];
  });
  assert.deepEqual(await removers.whatGoes(account), [
    { feature: 'compute', items: ['2 servers stopped', 'the workspace'] },
    { feature: 'files', items: ['1 volume: Storage/ann/x'] },
  ]);
  assert.deepEqual(asked, ['compute:ann', 'jobs', 'files']);
});

test('a feature describes accounts once, and a failing description fails the question', async () => {
  const removers = new AccountRemovers();
  removers.describe('mydb', async () => ['the schema']);
  assert.throws(() => removers.describe('mydb', async () => []), /already describes/);
  removers.describe('broken', async () => {
    throw new Error('database down');
  });
  await assert.rejects(removers.whatGoes(account), /database down/);
});
