/**
 * Reading a job's output from byte offsets (docs/jobs.md, "Logs"): each stream is known as
 * bytes from some base to its end (the whole of it from the container while the job runs, the
 * last MiB kept after it ended); an answer gives what follows the caller's offset, at most
 * CHUNK_BYTES, cut at a character boundary, and the offset to ask with next. Pure.
 */

/** Most bytes of one stream in one answer: a long log is read in several. */
export const CHUNK_BYTES = 1024 * 1024;

export interface StreamOffsets {
  stdout: number;
  stderr: number;
}

/** A stream's known bytes: its last `data.length` bytes of `total` in all. */
interface KnownStream {
  data: Buffer;
  total: number;
}

/** Where to cut `data` so that no UTF-8 character is split at its end. */
export function characterEnd(data: Buffer): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const byte = data[data.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return size > back ? data.length - back : data.length;
  }
  return data.length;
}

function readStream(
  stream: KnownStream,
  offset: number,
  ended: boolean,
): { text: string; next: number } {
  const base = stream.total - stream.data.length;
  const from = Math.min(Math.max(offset, base), stream.total) - base;
  let chunk = stream.data.subarray(from, from + CHUNK_BYTES);
  // A character still being written (or cut by the chunk's size) waits for the next answer.
  if (!ended || from + chunk.length < stream.data.length) {
    chunk = chunk.subarray(0, characterEnd(chunk));
  }
  return { text: chunk.toString('utf8'), next: base + from + chunk.length };
}

const known = (text: string | Buffer, total: number | null | undefined): KnownStream => {
  const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return { data, total: Math.max(total ?? data.length, data.length) };
};

/**
 * The answer of the logs route: `source` null for a job that has not started; `ended` once
 * the job has ended (`complete` then says whether everything was returned).
 */
export function readLogs(
  source: {
    stdout: string | Buffer;
    stderr: string | Buffer;
    stdoutBytes?: number | null;
    stderrBytes?: number | null;
  } | null,
  offsets: StreamOffsets,
  ended: boolean,
) {
  const out = known(source?.stdout ?? '', source?.stdoutBytes);
  const err = known(source?.stderr ?? '', source?.stderrBytes);
  const stdout = readStream(out, offsets.stdout, ended);
  const stderr = readStream(err, offsets.stderr, ended);
  return {
    stdout: stdout.text,
    stderr: stderr.text,
    complete: ended && stdout.next >= out.total && stderr.next >= err.total,
    stdout_offset: stdout.next,
    stderr_offset: stderr.next,
  };
}
