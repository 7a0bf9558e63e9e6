/**
 * The files API against the disk it writes to: a 1 GiB upload and download through a real hub
 * (streamed over loopback HTTP with node:http, walked by descriptor, renamed into place), next to a plain
 * streamed copy of the same file on the same disk (the floor); and listing a folder of 10,000
 * files through the API next to `ls -l` (which lstats each entry, as the API does).
 * Targets: throughput ≥ 0.7× the copy; the listing < 200 ms. Run: npx tsx bench/files.ts
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createAccount } from '../hub/src/accounts/service.ts';
import { createToken } from '../hub/src/auth/tokens.ts';
import { loadConfig } from '../hub/src/config.ts';
import { defaultRootVolumes } from '../hub/src/files/config.ts';
import { filesModule } from '../hub/src/files/module.ts';
import { startHub } from '../hub/src/server.ts';
import { createBenchDatabase } from './support/database.ts';
import { machine, msSince, ratio, summarise, writeResult } from './support/stats.ts';

const FILE_BYTES = Number(process.env.ORRERY_BENCH_FILE_BYTES ?? 1024 ** 3);
const LIST_FILES = 10_000;
const ROUNDS = 3;
const LIST_ROUNDS = 15;
const TARGET = { throughputRatio: 0.7, listMs: 200 };

const mibPerSecond = (bytes: number, ms: number) =>
  Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10;
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(work: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return msSince(start);
}

/** PUT a file with node:http, streamed from disk as curl or a browser would send it. */
function uploadFile(url: string, file: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'PUT',
        headers: {
          ...headers,
          'content-type': 'application/octet-stream',
          'content-length': String(FILE_BYTES),
        },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () =>
          res.statusCode === 201
            ? resolve()
            : reject(new Error(`upload: ${res.statusCode} ${body}`)),
        );
      },
    );
    req.on('error', reject);
    createReadStream(file, { highWaterMark: 2 ** 20 }).pipe(req);
  });
}

async function main() {
  const database = await createBenchDatabase('files');
  const stateDir = await fsp.mkdtemp(path.join(tmpdir(), 'orrery-bench-files-'));
  const base = loadConfig({
    ORRERY_PORT: '0',
    DATABASE_URL: database.url,
    ORRERY_ARGON2_MEMORY_KIB: '1024',
    ORRERY_ARGON2_TIME: '1',
  });
  const config = {
    ...base,
    stateDir,
    migrateOnStart: true,
    logLevel: 'warn',
    apiRequestsPerMinute: 1_000_000,
    files: { ...base.files, rootVolumes: defaultRootVolumes(stateDir) },
  };
  const running = await startHub(config);
  try {
    const user = await createAccount(
      running.hub.db,
      config,
      { username: 'bench', approved: true },
      { type: 'user.create' },
    );
    const { token } = await createToken(running.hub.db, user.id, {
      scopes: ['all'],
      seconds: 3600,
    });
    const auth = { authorization: `token ${token}` };
    const files = running.modules.serviceOf(filesModule);
    const view = await files.viewOf(user.id);
    const volumeDir = view.find((v) => v.volume === 'persistent')!.host_path;
    const api = `${running.url}/hub/api/files/Storage/bench/persistent`;

    // The source: 1 GiB of pseudo-random bytes (one random MiB repeated), outside the volume.
    const source = path.join(stateDir, 'source.bin');
    const block = Buffer.alloc(2 ** 20);
    for (let i = 0; i < block.length; i += 4)
      block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
    await pipeline(
      Readable.from(
        (function* () {
          for (let done = 0; done < FILE_BYTES; done += block.length)
            yield block.subarray(0, Math.min(block.length, FILE_BYTES - done));
        })(),
      ),
      createWriteStream(source),
    );

    const copyMs: number[] = [];
    const uploadMs: number[] = [];
    const downloadMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const copy = path.join(stateDir, `copy-${round}.bin`);
      copyMs.push(
        await timed(() =>
          pipeline(createReadStream(source, { highWaterMark: 2 ** 20 }), createWriteStream(copy)),
        ),
      );
      await fsp.rm(copy);
      uploadMs.push(
        await timed(() => uploadFile(`${api}/content?path=big.bin&overwrite=true`, source, auth)),
      );
      const target = path.join(stateDir, `download-${round}.bin`);
      downloadMs.push(
        await timed(async () => {
          const res = await fetch(`${api}/content?path=big.bin`, { headers: auth });
          if (res.status !== 200 || !res.body) throw new Error(`download: ${res.status}`);
          await pipeline(Readable.fromWeb(res.body as never), createWriteStream(target));
        }),
      );
      const size = (await fsp.stat(target)).size;
      if (size !== FILE_BYTES) throw new Error(`download wrote ${size} bytes, not ${FILE_BYTES}`);
      await fsp.rm(target);
    }
    const copy = median(copyMs);
    const throughput = {
      bytes: FILE_BYTES,
      copyMiBs: mibPerSecond(FILE_BYTES, copy),
      uploadMiBs: mibPerSecond(FILE_BYTES, median(uploadMs)),
      downloadMiBs: mibPerSecond(FILE_BYTES, median(downloadMs)),
      uploadVsCopy: ratio(copy, median(uploadMs)),
      downloadVsCopy: ratio(copy, median(downloadMs)),
      rounds: { copyMs, uploadMs, downloadMs },
    };

    // A folder of 10,000 files, made on disk (as a container would).
    const folder = path.join(volumeDir, 'many');
    await fsp.mkdir(folder);
    for (let i = 0; i < LIST_FILES; i += 500)
      await Promise.all(
        Array.from({ length: 500 }, (_, j) =>
          fsp.writeFile(path.join(folder, `f${String(i + j).padStart(5, '0')}.dat`), 'x'),
        ),
      );
    const apiMs: number[] = [];
    const lsMs: number[] = [];
    for (let round = 0; round < LIST_ROUNDS; round++) {
      apiMs.push(
        await timed(async () => {
          const res = await fetch(`${api}/list?path=many`, { headers: auth });
          const body = await res.json();
          if (body.entries?.length !== LIST_FILES)
            throw new Error(`listed ${body.entries?.length}`);
        }),
      );
      lsMs.push(
        await timed(
          async () =>
            void execFileSync('ls', ['-l', '--full-time', folder], { maxBuffer: 64 * 2 ** 20 }),
        ),
      );
    }
    const list = {
      files: LIST_FILES,
      api: summarise(apiMs),
      ls: summarise(lsMs),
      ratioP50: ratio(median(apiMs), median(lsMs)),
      targetMs: TARGET.listMs,
      meetsTarget: median(apiMs) < TARGET.listMs,
    };
    const result = {
      machine: await machine(),
      throughput: {
        ...throughput,
        target: TARGET.throughputRatio,
        meetsTarget:
          Math.min(throughput.uploadVsCopy, throughput.downloadVsCopy) >= TARGET.throughputRatio,
      },
      list,
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(`wrote ${writeResult('files', result)}`);
  } finally {
    await running.close();
    await database.drop();
    await fsp.rm(stateDir, { recursive: true, force: true });
  }
}

await main();
