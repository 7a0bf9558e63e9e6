/** Writes the page assets (bundled scripts, stylesheet, favicon) where a compiled hub serves them: hub/dist/static. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleAssets } from '../src/pages/assets.ts';

const out = fileURLToPath(new URL('../dist/static/', import.meta.url));
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const files = await bundleAssets();
for (const [name, body] of files) await writeFile(path.join(out, name), body);
console.log(`page assets: ${[...files.keys()].join(', ')} in ${out}`);
