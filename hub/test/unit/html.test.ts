import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, Html, html } from '../../src/pages/html.ts';

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  '</title><script src=//evil.example></script>',
  '`{{alert(1)}}` \u003cscript\u003e',
  '&lt;already escaped&gt;',
];

test('every interpolated string is text: no hostile string becomes markup', () => {
  for (const text of HOSTILE) {
    const out = html`<p title="${text}">${text}</p><a href='${text}'>x</a>`.toString();
    assert.doesNotMatch(out, /<script|<img|<\/title/, out);
    assert.doesNotMatch(out, /"[^"]*"[^>]*on\w+=|' on\w+=/, out);
    // What a browser reads back from the text is the string itself.
    const body = out.slice(out.indexOf('>') + 1, out.indexOf('</p>'));
    assert.equal(
      body.replace(
        /&(lt|gt|quot|#39|#96|amp);/g,
        (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", '#96': '`', amp: '&' })[e]!,
      ),
      text,
    );
  }
});

test('only markup built by html is inserted as markup', () => {
  const inner = html`<em>${'<b>'}</em>`;
  assert.equal(html`<p>${inner}</p>`.toString(), '<p><em>&lt;b&gt;</em></p>');
  // A string that looks like markup, or an object pretending to be Html, stays text.
  const pretender = { toString: () => '<script>x</script>' } as unknown as string;
  assert.equal(html`${pretender}`.toString(), '&lt;script&gt;x&lt;/script&gt;');
  assert.ok(inner instanceof Html);
});

test('lists join, numbers print, and false, null and undefined print nothing', () => {
  const items = ['a<', 'b'].map((x) => html`<li>${x}</li>`);
  assert.equal(html`<ul>${items}</ul>`.toString(), '<ul><li>a&lt;</li><li>b</li></ul>');
  assert.equal(html`${0}|${false}|${null}|${undefined}|${1.5}`.toString(), '0||||1.5');
  const admin = false;
  assert.equal(html`<p>${admin && html`<b>admin</b>`}</p>`.toString(), '<p></p>');
});

test('escapeHtml covers the characters that end text or a quoted attribute', () => {
  assert.equal(escapeHtml(`&<>"'\``), '&amp;&lt;&gt;&quot;&#39;&#96;');
});
