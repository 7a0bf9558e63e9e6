/** Helpers for compute tests: wait for a server, talk to a kernel over the proxy. */
import WebSocket from 'ws';
import type { Client } from '../support.ts';

export async function waitForStatus(
  client: Client,
  name: string,
  server: string,
  want: 'running' | 'gone',
  timeoutMs = 90_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const res = await client.get(`/hub/api/users/${encodeURIComponent(name)}/servers/${server}`);
    last = res.json;
    if (want === 'running' && res.json?.status === 'running') return res.json;
    if (want === 'gone' && res.status === 404) return res.json;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`server ${name}/${server} not ${want} in time; last: ${JSON.stringify(last)}`);
}

/** Read the SSE progress stream to its end. */
export async function readProgress(base: string, path: string, headers: Record<string, string>) {
  const res = await fetch(base + path, { headers });
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((chunk) => chunk.startsWith('data: '))
    .map(
      (chunk) =>
        JSON.parse(chunk.slice(6)) as {
          progress: number;
          message: string;
          ready?: boolean;
          failed?: boolean;
        },
    );
}

/** Open a WebSocket through the hub; resolves on open, rejects with the HTTP status when refused. */
export function openSocket(
  url: string,
  headers: Record<string, string>,
  timeoutMs = 30_000,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers, handshakeTimeout: timeoutMs });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) =>
      reject(new Error(`refused with ${res.statusCode}`)),
    );
    socket.once('error', reject);
  });
}

/** One kernel_info round trip on a kernel channels socket. */
export function kernelInfo(socket: WebSocket, timeoutMs = 30_000): Promise<{ status: string }> {
  const msgId = `${Date.now()}-${Math.random()}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no kernel_info_reply in time')), timeoutMs);
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data));
      if (message.parent_header?.msg_id === msgId && message.msg_type === 'kernel_info_reply') {
        socket.off('message', onMessage);
        clearTimeout(timer);
        resolve(message.content);
      }
    };
    socket.on('message', onMessage);
    socket.once('error', reject);
    socket.send(
      JSON.stringify({
        header: {
          msg_id: msgId,
          msg_type: 'kernel_info_request',
          username: '',
          session: 'test',
          version: '5.3',
          date: new Date().toISOString(),
        },
        parent_header: {},
        metadata: {},
        content: {},
        channel: 'shell',
        buffers: [],
      }),
    );
  });
}
