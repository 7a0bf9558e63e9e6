import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { type HubError, HubQueryError } from '../src/api.js';
import { isMissingRoute, lineAndColumn, MyDBModel } from '../src/mydb/model.js';
import { notebookCode, pythonString } from '../src/mydb/notebook.js';
import {
  aitoff,
  mollweide,
  plotSpec,
  projectSky,
  sampleRows,
  skyColumns,
} from '../src/mydb/plots.js';
import { ResultCells, toResult } from '../src/mydb/result.js';
import type { IQuickQueryAnswer } from '../src/tokens.js';
import { FakeHub } from './fake-hub.js';

const BIG = 9007199254740993n; // 2^53 + 1: not a double

/** An Arrow answer of `n` stars, as the hub's Arrow format sends one. */
function arrowStars(n: number, truncated = false): IQuickQueryAnswer {
  const id = new BigInt64Array(n);
  const ra = new Float64Array(n);
  const dec = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    id[i] = BIG + BigInt(i);
    ra[i] = (i * 0.37) % 360;
    dec[i] = ((i * 0.11) % 180) - 90;
  }
  const table = tableFromArrays({ id, ra, dec });
  table.schema.metadata.set('orrery.truncated', String(truncated));
  return { format: 'arrow', bytes: tableToIPC(table, 'stream'), truncated };
}

describe('MyDBModel', () => {
  let hub: FakeHub;
  let model: MyDBModel;

  beforeEach(() => {
    hub = new FakeHub().addUser('alice', 'bob');
    const client = hub.clientFor('alice');
    model = new MyDBModel(client, client, { maxRows: 1000, timeoutSeconds: 20 });
  });

  it('refresh loads me, the contexts (MyDB first) and the MyDB tables', async () => {
    hub.mydb.addMyDBTable('mine', [{ name: 'x', type: 'integer' }], 3);
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.refresh();
    assert.equal(model.user, 'alice');
    assert.deepEqual(
      model.contexts.map((c) => c.name),
      ['mydb', 'stars'],
    );
    assert.equal(model.context, 'mydb');
    assert.deepEqual(
      model.tables()?.map((t) => t.name),
      ['mine'],
    );
    assert.ok(changes > 0);
  });

  it('a context is chosen once and its tables feed the completion, bare and qualified', async () => {
    await model.refresh();
    await model.setContext('stars');
    await model.setContext('mydb');
    await model.setContext('stars');
    assert.equal(hub.calls.filter((c) => c === 'alice tables stars').length, 1);
    const schema = model.completionSchema();
    assert.deepEqual(schema['stars'], ['id', 'ra', 'dec', 'vmag']);
    assert.deepEqual(schema['catalog_stars.stars'], ['id', 'ra', 'dec', 'vmag']);
  });

  it('an unknown default context falls back to the first the hub lists', async () => {
    const client = hub.clientFor('alice');
    const m = new MyDBModel(client, client, { defaultContext: 'gone' });
    await m.refresh();
    assert.equal(m.context, 'mydb');
  });

  it('runs a quick query with the limits, leaving the default context out of the body', async () => {
    model.setSql('SELECT 1 AS one');
    const result = await model.run();
    assert.equal(result.rowCount, 1);
    assert.equal(result.columns[0]?.name, 'one');
    assert.deepEqual(hub.mydb.requests[0], {
      sql: 'SELECT 1 AS one',
      max_rows: 1000,
      timeout_seconds: 20,
    });
    await model.setContext('stars');
    await model.run('SELECT ra FROM stars');
    assert.equal(hub.mydb.requests[1]?.context, 'stars');
    assert.deepEqual(model.resultSource, { sql: 'SELECT ra FROM stars', context: 'stars' });
  });

  it('sends a session id only when sessions are on', async () => {
    model.configure({ useSession: true });
    await model.run('SELECT 1');
    await model.run('SELECT 2');
    const [a, b] = hub.mydb.requests;
    assert.match(a?.session ?? '', /^[A-Za-z0-9_-]{1,64}$/);
    assert.equal(a?.session, b?.session);
  });

  it('keeps JSON bigints exact as text and flags numeric columns', async () => {
    hub.mydb.answer = () => ({
      format: 'json',
      body: {
        columns: [
          { name: 'id', type: 'bigint' },
          { name: 'name', type: 'text' },
          { name: 'mag', type: 'numeric(5,2)' },
        ],
        rows: [
          ['9007199254740993', 'Sirius', '-1.46'],
          [null, null, null],
        ],
        row_count: 2,
        truncated: true,
        command: 'SELECT',
        elapsed_ms: 4,
      },
    });
    const result = await model.run('SELECT id, name, mag FROM stars');
    const grid = new ResultCells(result);
    assert.equal(grid.data('body', 0, 0), '9007199254740993');
    assert.equal(grid.data('body', 1, 1), 'NULL');
    assert.equal(grid.data('column-header', 0, 2), 'mag');
    assert.equal(grid.data('row-header', 1, 0), '2');
    assert.deepEqual(
      result.columns.map((c) => c.numeric),
      [true, false, true],
    );
    assert.equal(result.truncated, true);
  });

  it('reads a 500,000-row Arrow answer by columns, int64 exact, without a row of objects', async () => {
    hub.mydb.answer = () => arrowStars(500_000, true);
    const result = await model.run('SELECT id, ra, dec FROM stars');
    assert.equal(result.format, 'arrow');
    assert.equal(result.truncated, true);
    const grid = new ResultCells(result);
    assert.equal(grid.rowCount('body'), 500_000);
    assert.equal(grid.columnCount('body'), 3);
    assert.equal(grid.data('body', 0, 0), '9007199254740993');
    assert.equal(grid.data('body', 499_999, 0), String(BIG + 499_999n));
    assert.equal(result.columns[1]?.get(10), (10 * 0.37) % 360);
    assert.deepEqual(
      result.columns.map((c) => c.numeric),
      [true, true, true],
    );
  });

  it('takes the truncated flag from the header when the schema has none', () => {
    const table = tableFromArrays({ x: new Int32Array([1, 2]) });
    const bytes = tableToIPC(table, 'stream');
    assert.equal(toResult({ format: 'arrow', bytes, truncated: true }).truncated, true);
    assert.equal(toResult({ format: 'arrow', bytes, truncated: null }).truncated, false);
  });

  it('keeps a failed query with the line and column of the position PostgreSQL gave', async () => {
    hub.mydb.answer = () => {
      throw new HubQueryError(400, 'bad_request', 'syntax error at or near "FORM"', 18);
    };
    const sql = 'SELECT ra, dec\n  FORM stars';
    await assert.rejects(model.run(sql), /syntax error/);
    assert.deepEqual(
      { position: model.error?.position, line: model.error?.line, column: model.error?.column },
      { position: 18, line: 2, column: 3 },
    );
    assert.equal(model.running, false);
    hub.mydb.answer = () => arrowStars(2);
    await model.run('SELECT 1');
    assert.equal(model.error, null);
  });

  it('refuses an empty query without asking the hub', async () => {
    await assert.rejects(model.run('   '), (e: HubError) => e.status === 400);
    assert.equal(hub.mydb.requests.length, 0);
  });

  it('saves the last result into a new MyDB table, which the browser then lists', async () => {
    await model.refresh();
    await model.setContext('stars');
    await model.run('SELECT ra, dec FROM stars WHERE dec > 80');
    const saved = await model.saveToMyDB('polar');
    assert.equal(saved.table, 'polar');
    assert.ok(model.tables('mydb')?.some((t) => t.name === 'polar'));
    assert.ok(hub.calls.includes('alice saveInto alice polar'));
    await assert.rejects(model.saveToMyDB('polar'), (e: HubError) => e.status === 409);
    await assert.rejects(model.saveToMyDB('no good'), (e: HubError) => e.status === 400);
    assert.equal(hub.calls.filter((c) => c.startsWith('alice saveInto')).length, 2);
  });

  it('a hub without `into` makes saving unavailable, not an unexplained failure', async () => {
    hub.mydb.missingRoutes.add('into');
    await model.run('SELECT 1');
    await assert.rejects(model.saveToMyDB('t1'), (e: unknown) => isMissingRoute(e));
    assert.equal(model.available('into'), false);
    assert.equal(model.available('batch'), true);
  });

  it('submits batch queries, follows them, cancels one, and lists the finished table', async () => {
    await model.refresh();
    model.setSql('SELECT g AS n FROM generate_series(1, 10) g');
    const job = await model.submit('tenrows');
    assert.equal(job.table, 'tenrows');
    assert.equal(model.batchesPending, true);
    const other = await model.submit();
    assert.equal(other.table, `batch_${other.id}`);
    await model.cancelBatch(other.id);
    assert.equal(model.batches.find((b) => b.id === other.id)?.status, 'cancelled');
    hub.mydb.advance(job.id, 'finished', 10);
    await model.refreshBatches();
    assert.equal(model.batchesPending, false);
    assert.ok(model.tables('mydb')?.some((t) => t.name === 'tenrows'));
    await assert.rejects(model.cancelBatch(job.id), (e: HubError) => e.status === 409);
  });

  it('a hub without batch queries says so through available()', async () => {
    hub.mydb.missingRoutes.add('batch');
    model.setSql('SELECT 1');
    await assert.rejects(model.submit());
    assert.equal(model.available('batch'), false);
    await assert.rejects(model.refreshBatches());
    assert.equal(model.available('batch'), false);
  });

  it('lists the history; an entry reloads into the editor and re-runs as it was', async () => {
    await model.run('SELECT 1');
    await model.run('SELECT 2');
    await model.refreshHistory();
    assert.deepEqual(
      model.history.map((h) => h.sql),
      ['SELECT 2', 'SELECT 1'],
    );
    let shown = '';
    model.sqlChanged.connect((_m, sql) => {
      shown = sql;
    });
    model.loadFromHistory({ sql: 'SELECT ra FROM stars', context: 'stars' });
    assert.equal(shown, 'SELECT ra FROM stars');
    assert.equal(model.context, 'stars');
    await model.rerun({ sql: 'SELECT 1', context: 'mydb' });
    assert.deepEqual(hub.mydb.requests.at(-1), {
      sql: 'SELECT 1',
      max_rows: 1000,
      timeout_seconds: 20,
    });
    await model.refreshHistory('2');
    assert.deepEqual(
      model.history.map((h) => h.sql),
      ['SELECT 2'],
    );
  });

  it('a hub without history leaves the list empty and marks it unavailable', async () => {
    hub.mydb.missingRoutes.add('history');
    await model.run('SELECT 1');
    await assert.rejects(model.refreshHistory());
    assert.equal(model.available('history'), false);
    assert.deepEqual(model.history, []);
  });

  it('imports a CSV as a new table, exports it, refuses a second import, drops it', async () => {
    await model.refresh();
    const made = await model.importTable('upload', 'csv', new Blob(['a,b\n1,2\n3,4\n']));
    assert.deepEqual([made.table, made.row_count], ['upload', 2]);
    assert.ok(model.tables('mydb')?.some((t) => t.name === 'upload'));
    assert.equal(await (await model.exportTable('upload', 'csv')).text(), 'a,b\n');
    await assert.rejects(
      model.importTable('upload', 'csv', new Blob(['a\n1\n'])),
      (e: HubError) => e.status === 409,
    );
    await model.dropTable('upload');
    assert.equal(model.tables('mydb')?.length, 0);
    await assert.rejects(model.dropTable('upload'), (e: HubError) => e.status === 404);
  });

  it('writes the notebook cell for the result, and for a table', async () => {
    await model.refresh();
    await model.setContext('stars');
    await model.run('SELECT ra, dec\nFROM stars\nWHERE vmag < 2');
    assert.equal(
      model.notebookCell(),
      'from orrery import mydb\n\ndf = mydb.query("""SELECT ra, dec\nFROM stars\nWHERE vmag < 2""", context="stars")\ndf',
    );
    const table = model.notebookCell('Polar Stars', 'mydb');
    assert.match(table, /mydb\.get_table\("Polar Stars"\)/);
    assert.match(table, /df = mydb\.query\("SELECT \* FROM \\"Polar Stars\\""\)\ndf$/);
  });
});

describe('MyDB helpers', () => {
  it('line and column of a 1-based position', () => {
    assert.deepEqual(lineAndColumn('SELECT\nFORM x', 8), { line: 2, column: 1 });
    assert.deepEqual(lineAndColumn('SELEC 1', 1), { line: 1, column: 1 });
  });

  it('Python string literals survive quotes, backslashes and newlines', () => {
    assert.equal(pythonString('a\nb'), '"""a\nb"""');
    assert.equal(pythonString('x = "y"'), '"x = \\"y\\""');
    assert.equal(pythonString('a\\nb\n"""'), '"a\\\\nb\\n\\"\\"\\""');
    assert.equal(
      notebookCode({ kind: 'query', sql: 'SELECT 1', context: 'mydb' }),
      'from orrery import mydb\n\ndf = mydb.query("SELECT 1")\ndf',
    );
  });

  it('projections: the centre, the poles and the rim', () => {
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);
    for (const f of [mollweide, aitoff]) {
      const [x, y] = f(0, 0);
      close(x, 0);
      close(y, 0);
    }
    close(mollweide(0, Math.PI / 2)[1], Math.SQRT2);
    close(mollweide(Math.PI, 0)[0], 2 * Math.SQRT2);
    close(aitoff(Math.PI, 0)[0], Math.PI);
    close(aitoff(0, Math.PI / 2)[1], Math.PI / 2);
    // Equal area: a band near the equator is wider than one near the pole in x.
    assert.ok(mollweide(1, 0.1)[0] > mollweide(1, 1.4)[0]);
  });

  it('RA grows to the left and wraps at 180°', () => {
    assert.ok(projectSky(30, 0, 'mollweide')[0] < 0);
    assert.ok(projectSky(330, 0, 'mollweide')[0] > 0);
    const a = projectSky(-30, 10, 'aitoff');
    const b = projectSky(330, 10, 'aitoff');
    assert.ok(Math.abs(a[0] - b[0]) < 1e-12 && Math.abs(a[1] - b[1]) < 1e-12);
  });

  it('finds RA/Dec columns, samples evenly, and builds the three plots', () => {
    const result = toResult(arrowStars(50_000));
    assert.deepEqual(skyColumns(result), { ra: 'ra', dec: 'dec' });
    assert.equal(sampleRows(10, 3).length, 3);
    assert.equal(sampleRows(3, 10).length, 3);
    const sky = plotSpec(result, {
      kind: 'sky',
      x: 'ra',
      y: 'dec',
      projection: 'aitoff',
      maxPoints: 1000,
    }) as {
      layer: { data: { values: unknown[] } }[];
    };
    assert.equal(sky.layer.length, 2);
    assert.ok(sky.layer[1]!.data.values.length <= 1000 && sky.layer[1]!.data.values.length > 900);
    const scatter = plotSpec(result, { kind: 'scatter', x: 'ra', y: 'dec', maxPoints: 100 }) as {
      data: { values: { x: number; y: number }[] };
    };
    assert.equal(scatter.data.values.length, 100);
    const histogram = plotSpec(result, { kind: 'histogram', x: 'id', maxPoints: 10 }) as {
      mark: string;
      data: { values: { v: number }[] };
    };
    assert.equal(histogram.mark, 'bar');
    assert.ok(histogram.data.values.every((d) => Number.isFinite(d.v)));
    assert.throws(
      () => plotSpec(result, { kind: 'scatter', x: 'ra', y: 'nope', maxPoints: 10 }),
      /no column "nope"/,
    );
  });
});
