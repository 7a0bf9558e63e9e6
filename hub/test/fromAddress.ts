/**
 * Requests to a test hub from a chosen local address: Linux answers for all of 127.0.0.0/8, so
 * 127.0.0.2, 127.0.0.3… are distinct clients of a hub on 127.0.0.1, with no proxy involved.
 */
import http from 'node:http';
import { newXsrfToken } from '../src/auth/xsrf.ts';

// These clients hold no session: a token made for "no session" passes the XSRF check.
const XSRF = newXsrfToken('');

export interface AddressedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the hub answered
  json: any;
}

export function requestFrom(
  localAddress: string,
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<AddressedResponse> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        localAddress,
        agent: false,
        headers: {
          cookie: `_xsrf=${XSRF}`,
          'x-xsrftoken': XSRF,
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => {
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer to ${method} ${path} in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}
