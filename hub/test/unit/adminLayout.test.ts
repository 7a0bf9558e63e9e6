/** The admin pages' shared markup: what an action did is said from a fixed list, as text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Request } from 'express';
import { actionButton, adminTabs, doneLine } from '../../src/admin/layout.ts';

const requestWith = (query: Record<string, unknown>) => ({ query }) as unknown as Request;

test('the done line names whom it was done to, escaped, and only for a known action', () => {
  assert.equal(
    String(doneLine(requestWith({ done: 'deleted', name: '<b>x</b>' }))),
    '<div class="notice" role="status">&lt;b&gt;x&lt;/b&gt; is deleted.</div>',
  );
  assert.equal(String(doneLine(requestWith({ done: 'you have been hacked', name: 'x' }))), '');
  assert.equal(String(doneLine(requestWith({ done: ['deleted'], name: 'x' }))), '');
  assert.equal(String(doneLine(requestWith({}))), '');
});

test('an action button is a POST form with the XSRF field and escaped values', () => {
  assert.equal(
    String(
      actionButton('/hub/admin/users/a%22b/approve', 'Approve', {
        fields: { back: '"x' },
        name: 'approve',
      }),
    ),
    '<form class="inline" method="post" action="/hub/admin/users/a%22b/approve"><input type="hidden" name="_xsrf"><input type="hidden" name="back" value="&quot;x"><button type="submit" class="small" data-action="approve">Approve</button></form>',
  );
});

test('the tabs mark the current page', () => {
  const tabs = String(adminTabs('/hub/admin/servers'));
  assert.match(
    tabs,
    /<a href="\/hub\/admin\/servers" class="current" aria-current="page">Servers<\/a>/,
  );
  assert.equal(tabs.match(/aria-current/g)?.length, 1);
});
