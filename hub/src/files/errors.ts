/**
 * The files service's two refusals that have their own HTTP words: a quota (413
 * `quota_exceeded`: the body is too large for what is left) and a full disk (507
 * `insufficient_storage`, WebDAV's status for it). Everything else is a domain error.
 */
import { HttpError } from '../http/errors.ts';

export const quotaExceeded = (message: string) =>
  new HttpError(413, message, { reason: 'quota_exceeded', rule: 'quota_exceeded' });

export const diskFull = () =>
  new HttpError(
    507,
    'The server’s disk is full; nothing was written and files already stored are untouched',
    { reason: 'insufficient_storage', rule: 'disk_full' },
  );

/** ENOSPC and EDQUOT (a filesystem quota) both mean "no room": the same answer. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
