import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { appendHistory, historyEntry } from '../support/history.ts';

const machine = {
  date: '2026-12-01T00:00:00Z',
  cpus: 2,
  node: 'v20',
  loadAverage1m: 1.5,
  cpuModel: 'x',
};
const timing = {
  n: 10,
  p50: 0.1,
  p99: 0.4,
  max: 1,
  mean: 0.2,
  ratioP50: 2,
  ratioP99: 1,
  meetsTarget: true,
};
const commit = { commit: 'abc123def456', dirty: false };

test('an entry carries date, commit, machine and each benchmark key figures', () => {
  const entry = historyEntry(
    {
      racm: {
        machine,
        may: timing,
        listAllowed: { ...timing, meetsTarget: false },
        plans: ['big'],
      },
      users: {
        machine,
        hub: { median: { wallMs: 660 } },
        ratios: { vsBareHttp: { wallMedian: 1.7 } },
        meetsTarget: true,
      },
    },
    commit,
    '2026-12-01T12:00:00Z',
  );
  assert.deepEqual(entry, {
    date: '2026-12-01T12:00:00Z',
    commit: 'abc123def456',
    dirty: false,
    machine: { cpus: 2, node: 'v20', loadAverage1m: 1.5 },
    racm: {
      may: { n: 10, p50: 0.1, p99: 0.4, ratioP50: 2, ratioP99: 1, met: true },
      listAllowed: { n: 10, p50: 0.1, p99: 0.4, ratioP50: 2, ratioP99: 1, met: false },
    },
    users: { wallMedianMs: 660, vsBareHttp: 1.7, met: true },
  });
});

test('each run appends one line, so runs accumulate as a diff', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'orrery-history-')), 'history.jsonl');
  appendHistory(historyEntry({}, commit, 'first'), file);
  appendHistory(historyEntry({}, { ...commit, dirty: true }, 'second'), file);
  const lines = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    lines.map((line) => [line.date, line.dirty]),
    [
      ['first', false],
      ['second', true],
    ],
  );
});
