/**
 * The pages' static files: the stylesheet, the favicon and the page scripts, bundled from
 * `client/` with esbuild. A compiled hub serves what `npm run build` wrote to hub/dist/static;
 * a hub run from source (tsx: development and tests) bundles at start, so scripts are never
 * stale. Each file is served with a content version for long caching.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page scripts: one bundle per entry in client/. */
export const SCRIPT_ENTRIES = ['home', 'signup', 'forms'] as const;
export type ScriptName = (typeof SCRIPT_ENTRIES)[number];

export interface Asset {
  body: Buffer;
  type: string;
  /** A short hash of the body: URLs carry it, so a file may be cached for good. */
  version: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const here = path.dirname(fileURLToPath(import.meta.url));
const runningFromSource = import.meta.url.endsWith('.ts');
/** Where a compiled hub (hub/dist/pages/assets.js) finds the built files. */
const BUILT_DIR = path.join(here, '..', 'static');

/** Bundles the page scripts and gathers the static files: name → contents. Needs esbuild (a dev dependency). */
export async function bundleAssets(sourceDir = here): Promise<Map<string, Buffer>> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: SCRIPT_ENTRIES.map((name) => path.join(sourceDir, 'client', `${name}.ts`)),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  });
  const files = new Map<string, Buffer>();
  for (const file of result.outputFiles)
    files.set(path.basename(file.path), Buffer.from(file.contents));
  const staticDir = path.join(sourceDir, 'static');
  for (const name of await readdir(staticDir))
    files.set(name, await readFile(path.join(staticDir, name)));
  return files;
}

async function readBuilt(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const names = await readdir(BUILT_DIR).catch(() => {
    throw new Error(`no page assets in ${BUILT_DIR}: run npm run build`);
  });
  for (const name of names) files.set(name, await readFile(path.join(BUILT_DIR, name)));
  return files;
}

function describe(files: Map<string, Buffer>): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, body] of files) {
    const version = createHash('sha256').update(body).digest('hex').slice(0, 12);
    assets.set(name, {
      body,
      type: TYPES[path.extname(name)] ?? 'application/octet-stream',
      version,
    });
  }
  return assets;
}

let loaded: Promise<Map<string, Asset>> | undefined;

/** The assets of this process, loaded once. */
export function pageAssets(): Promise<Map<string, Asset>> {
  loaded ??= (runningFromSource ? bundleAssets() : readBuilt()).then(describe);
  return loaded;
}

/** The versioned URL of an asset the page links to. */
export async function assetUrl(name: string): Promise<string> {
  const asset = (await pageAssets()).get(name);
  if (!asset) throw new Error(`no page asset named ${name}`);
  return `/hub/static/${name}?v=${asset.version}`;
}
