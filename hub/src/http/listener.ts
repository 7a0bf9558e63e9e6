/** Listening and stopping listening, the same way for every listener the hub opens. */
import type { Server } from 'node:http';

/** Listen on `address:port`; resolves with the port (the system's choice when `port` is 0). */
export function listen(server: Server, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/**
 * Stop taking connections and let requests in flight finish; connections still open after
 * five seconds (a stuck client, a long event stream) are cut.
 */
export function closeGracefully(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5000).unref();
  });
}
