/**
 * The one layout of the hub's pages, and the one way to send a page: with a Content-Security-
 * Policy that allows scripts and styles only from the hub's own static files, never inline.
 */
import type { Response } from 'express';
import { assetUrl, type ScriptName } from './assets.ts';
import { type Html, html } from './html.ts';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export interface PageContent {
  title: string;
  body: Html;
  /** The bundled script (from client/) the page runs, if any. */
  script?: ScriptName;
  /** `data-*` attributes on <body>: how a page hands values to its script. */
  data?: Record<string, string>;
}

export async function renderPage(content: PageContent): Promise<Html> {
  const data = Object.entries(content.data ?? {}).map(
    ([key, value]) => html` data-${key}="${value}"`,
  );
  const script = content.script
    ? html`<script type="module" src="${await assetUrl(`${content.script}.js`)}"></script>`
    : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${content.title} · Orrery</title>
<link rel="icon" href="${await assetUrl('favicon.svg')}" type="image/svg+xml">
<link rel="stylesheet" href="${await assetUrl('page.css')}">
${script}</head>
<body${data}><header><a class="brand" href="/hub/home">Orrery</a></header>
<main>${content.body}</main></body></html>`;
}

export async function sendPage(res: Response, content: PageContent, status = 200): Promise<void> {
  const page = await renderPage(content);
  res
    .status(status)
    .set('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    .type('html')
    .send(page.toString());
}
