import { Readable } from 'node:stream';
import { FitsToCsv } from './src/mydb/formats/fitsImport.ts';
import { readFileSync } from 'node:fs';
const file = readFileSync(process.argv[2]!);
const reader = new FitsToCsv();
Readable.from([file]).pipe(reader);
let csv = '';
try { for await (const c of reader) csv += c; console.log(csv.slice(0,200), await reader.columns); } catch (e) { console.log('ERR', e.message); }
