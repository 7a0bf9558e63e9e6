/**
 * Resumable uploads for large files: start a session (path and total size: the quota is
 * checked and reserved then), send chunks at the session's offset, complete. The bytes wait
 * in the root's hidden upload area, so an interrupted upload leaves nothing in the volume;
 * completing renames the file into place. Sessions untouched for a day are swept.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Db } from '../db/pool.ts';
import { Conflict, Invalid, NotFound } from '../errors.ts';
import { stagingArea, uploadsArea } from './disk.ts';
import { diskFull, isNoSpace } from './errors.ts';
import type { Entry, FileOps } from './fileOps.ts';
import { pathSegments } from './names.ts';
import type { Quotas } from './quota.ts';
import { lstatIn, openVolumeRoot, withDir } from './safeFs.ts';
import { deleteUpload, findUpload, insertUpload, setReceived, type UploadRecord } from './store.ts';
import type { ResolvedVolume } from './volumes.ts';

export const MAX_UPLOAD_BYTES = 1024 ** 4;

export interface UploadState {
  upload_id: string;
  path: string;
  size: number;
  offset: number;
}

const stateOf = (u: UploadRecord): UploadState => ({
  upload_id: u.id,
  path: u.path,
  size: u.size,
  offset: u.received,
});
const notFound = () => new NotFound('upload', 'Upload not found (completed, cancelled or expired)');

export class Uploads {
  constructor(
    private readonly db: Db,
    private readonly quotas: Quotas,
    private readonly ops: FileOps,
  ) {}

  private tempOf(volume: Pick<ResolvedVolume, 'rootConfig' | 'ownerId'>, id: string) {
    return path.join(uploadsArea(volume.rootConfig!, Number(volume.ownerId)), `session-${id}`);
  }

  async start(
    userId: number,
    volume: ResolvedVolume,
    rawPath: string,
    size: number,
    overwrite: boolean,
  ): Promise<UploadState> {
    const segments = pathSegments(rawPath);
    if (segments.length === 0) throw new Invalid('volume_itself', 'An upload needs a file path');
    if (size > MAX_UPLOAD_BYTES)
      throw new Invalid('too_large', `One upload is at most ${MAX_UPLOAD_BYTES} bytes`);
    const name = segments.pop()!;
    const root = await openVolumeRoot(volume.hostPath);
    let replaced = 0;
    try {
      await withDir(root, segments, async (folder) => {
        const existing = await lstatIn(folder, name);
        if (existing && !overwrite)
          throw new Conflict('exists', `"${rawPath}" exists; send overwrite=true to replace it`);
        replaced = existing?.isFile() ? existing.size : 0;
      });
    } finally {
      await root.close();
    }
    // The whole size is reserved now: an upload that cannot fit is refused before any byte.
    await this.quotas.reserve(volume.ownerId!, volume.rootConfig!, size - replaced);
    try {
      const upload = await insertUpload(this.db, {
        volumeId: volume.id,
        userId,
        path: [...segments, name].join('/'),
        size,
      });
      await stagingArea(volume.rootConfig!, Number(volume.ownerId));
      await fsp.writeFile(this.tempOf(volume, upload.id), '', { mode: 0o600 });
      return stateOf(upload);
    } catch (err) {
      await this.quotas.release(volume.ownerId!, volume.rootConfig!, size - replaced);
      throw isNoSpace(err) ? diskFull() : err;
    }
  }

  async state(userId: number, id: string): Promise<UploadState> {
    const upload = await findUpload(this.db, id, userId);
    if (!upload) throw notFound();
    return stateOf(upload);
  }

  /** Append a chunk at `offset` (which must be the session's); a failed chunk keeps what came before it. */
  async append(
    userId: number,
    volume: ResolvedVolume,
    id: string,
    offset: number,
    body: Readable,
  ): Promise<UploadState> {
    const upload = await findUpload(this.db, id, userId);
    if (!upload || upload.volumeId !== volume.id) throw notFound();
    if (offset !== upload.received)
      throw new Conflict(
        'offset',
        `The upload is at offset ${upload.received}; send the chunk from there`,
      );
    const temp = this.tempOf(volume, id);
    let total = offset;
    try {
      total = await this.ops.receive(
        body,
        temp,
        'a',
        async (bytes) => {
          if (bytes > upload.size)
            throw new Invalid('too_long', `The upload was started for ${upload.size} bytes`);
        },
        offset,
      );
    } catch (err) {
      // Cut back to the last whole chunk, so the offset stays true.
      await fsp.truncate(temp, offset).catch(() => undefined);
      throw isNoSpace(err) ? diskFull() : err;
    }
    await setReceived(this.db, id, total);
    return { ...stateOf(upload), offset: total };
  }

  /** Complete: every byte came, the file is renamed into place. */
  async complete(userId: number, volume: ResolvedVolume, id: string): Promise<Entry> {
    const upload = await findUpload(this.db, id, userId);
    if (!upload || upload.volumeId !== volume.id) throw notFound();
    if (upload.received !== upload.size)
      throw new Conflict(
        'incomplete',
        `${upload.received} of ${upload.size} bytes have come; send the rest first`,
      );
    const segments = pathSegments(upload.path);
    const name = segments.pop()!;
    const root = await openVolumeRoot(volume.hostPath);
    try {
      return await withDir(root, segments, async (folder) => {
        const existing = await lstatIn(folder, name);
        if (existing && !existing.isFile())
          throw new Conflict('not_a_file', `"${upload.path}" exists and is not a file`);
        await this.ops.place(this.tempOf(volume, id), folder, name);
        await deleteUpload(this.db, id);
        // The reservation assumed the size at start; settle it if the file it replaced changed.
        const stat = (await lstatIn(folder, name))!;
        return { name, type: 'file' as const, size: stat.size, mtime: stat.mtime.toISOString() };
      });
    } finally {
      await root.close();
    }
  }

  /** Cancel: the bytes and the reservation go. */
  async cancel(userId: number, volume: ResolvedVolume, id: string): Promise<void> {
    const upload = await findUpload(this.db, id, userId);
    if (!upload || upload.volumeId !== volume.id) throw notFound();
    await this.discard(upload, volume);
  }

  /** Drop a session: its row, its staged bytes and its quota reservation. */
  async discard(
    upload: { id: string; size: number },
    volume: Pick<ResolvedVolume, 'rootConfig' | 'ownerId'>,
  ): Promise<void> {
    await deleteUpload(this.db, upload.id);
    await fsp.rm(this.tempOf(volume, upload.id), { force: true });
    await this.quotas.release(volume.ownerId!, volume.rootConfig!, upload.size);
  }
}
