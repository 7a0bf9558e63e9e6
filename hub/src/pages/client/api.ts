/**
 * The pages' one way to call the hub's REST API: JSON in and out, the XSRF header from the
 * `_xsrf` cookie, and `{error, message}` refusals turned into `ApiError`s.
 */
import type { ApiRefusal } from './types.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The `_xsrf` cookie the hub sets on every response; state-changing requests echo it. */
export function xsrfToken(): string {
  const match = document.cookie.match(/(?:^|; )_xsrf=([^;]+)/);
  return match?.[1] ? decodeURIComponent(match[1]) : '';
}

/** Plain forms (sign in, sign out) post the token as a hidden `_xsrf` field. */
export function fillXsrfFields(): void {
  for (const field of document.querySelectorAll<HTMLInputElement>('input[name="_xsrf"]'))
    field.value = xsrfToken();
}

export async function api<T>(
  path: string,
  options: { method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'; body?: unknown } = {},
): Promise<T> {
  const res = await fetch(`/hub/api${path}`, {
    method: options.method ?? 'GET',
    headers: { 'content-type': 'application/json', 'x-xsrftoken': xsrfToken() },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const body: unknown = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok)
    throw new ApiError(res.status, (body as ApiRefusal | null)?.message ?? res.statusText);
  return body as T;
}

export const errorMessage = (err: unknown): string =>
  err instanceof Error ? err.message : String(err);
