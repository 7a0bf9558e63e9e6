import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseHost } from '../src/docker/placement.ts';

describe('chooseHost', () => {
  const hosts = ['h1', 'h2', 'h3'];

  it('picks the least-loaded host', () => {
    const load = new Map([
      ['h1', 4],
      ['h2', 1],
      ['h3', 2],
    ]);
    assert.deepEqual(chooseHost(hosts, load, 0), { host: 'h2', cursor: 2 });
  });

  it('rotates among equally loaded hosts', () => {
    const load = new Map([
      ['h1', 0],
      ['h2', 0],
      ['h3', 0],
    ]);
    const picked: string[] = [];
    let cursor = 0;
    for (let i = 0; i < 4; i++) {
      const decision = chooseHost(hosts, load, cursor)!;
      picked.push(decision.host);
      cursor = decision.cursor;
    }
    assert.deepEqual(picked, ['h1', 'h2', 'h3', 'h1']);
  });

  it('breaks ties starting at the cursor, wrapping around', () => {
    const load = new Map([
      ['h1', 1],
      ['h2', 3],
      ['h3', 1],
    ]);
    assert.equal(chooseHost(hosts, load, 2)?.host, 'h3');
    assert.equal(chooseHost(hosts, load, 1)?.host, 'h3');
    assert.equal(chooseHost(hosts, load, 0)?.host, 'h1');
  });

  it('spreads servers as load grows', () => {
    const load = new Map([
      ['h1', 0],
      ['h2', 0],
    ]);
    let cursor = 0;
    for (let i = 0; i < 6; i++) {
      const decision = chooseHost(['h1', 'h2'], load, cursor)!;
      load.set(decision.host, (load.get(decision.host) ?? 0) + 1);
      cursor = decision.cursor;
    }
    assert.deepEqual(
      [...load.entries()],
      [
        ['h1', 3],
        ['h2', 3],
      ],
    );
  });

  it('skips unreachable hosts and returns null when none is left', () => {
    assert.equal(chooseHost(hosts, new Map([['h3', 9]]), 0)?.host, 'h3');
    assert.equal(chooseHost(hosts, new Map(), 0), null);
    assert.equal(chooseHost([], new Map(), 0), null);
  });
});
