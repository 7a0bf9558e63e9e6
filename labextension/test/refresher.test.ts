import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PanelRefresher } from '../src/refresher.js';
import { ManualClock } from './manual-clock.js';

/** A model that counts its refreshes; `fail` makes them reject. */
class CountingModel {
  loading = false;
  fail = false;
  refreshes = 0;
  async refresh(): Promise<void> {
    this.refreshes++;
    if (this.fail) {
      throw new Error('hub down');
    }
  }
}

describe('PanelRefresher', () => {
  it('refreshes every interval while the panel is shown and the model is not loading', async () => {
    const clock = new ManualClock();
    const panel = { isVisible: true };
    const model = new CountingModel();
    new PanelRefresher({ panel, model, clock }).every(60);

    await clock.advance(59_000);
    assert.equal(model.refreshes, 0);
    await clock.advance(1_000);
    assert.equal(model.refreshes, 1);

    panel.isVisible = false;
    await clock.advance(60_000);
    assert.equal(model.refreshes, 1, 'a hidden panel is not refreshed');

    panel.isVisible = true;
    model.loading = true;
    await clock.advance(60_000);
    assert.equal(model.refreshes, 1, 'no second refresh while one is under way');

    model.loading = false;
    model.fail = true;
    await clock.advance(60_000);
    assert.equal(model.refreshes, 2, 'a failed refresh rejects nothing and the timer goes on');
    await clock.advance(60_000);
    assert.equal(model.refreshes, 3);
  });

  it('a new interval replaces the old timer, and 0 stops it', async () => {
    const clock = new ManualClock();
    const model = new CountingModel();
    const refresher = new PanelRefresher({ panel: { isVisible: true }, model, clock });
    refresher.every(60);
    refresher.every(10);
    assert.equal(clock.pending, 1);
    await clock.advance(60_000);
    assert.equal(model.refreshes, 6);

    refresher.every(0);
    assert.equal(clock.pending, 0);
    await clock.advance(600_000);
    assert.equal(model.refreshes, 6);
  });
});
