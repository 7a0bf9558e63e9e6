/**
 * Spawn progress, as JupyterHub streams it: each server being started has a list of events
 * that late subscribers replay, ending with a `ready` or `failed` event.
 */
import { EventEmitter } from 'node:events';
import type { ProgressEvent } from './progressEvent.ts';

interface Stream {
  events: ProgressEvent[];
  emitter: EventEmitter;
  done: boolean;
}

/**
 * Streams are keyed by owner and server name, not by the server's row: a spawn that failed has
 * no row any more, and its reason must still reach the page that follows it.
 */
export const progressKey = (userId: number, serverName: string) => `${userId}/${serverName}`;

export class SpawnProgress {
  private readonly streams = new Map<string, Stream>();

  begin(key: string): void {
    const old = this.streams.get(key);
    old?.emitter.removeAllListeners();
    this.streams.set(key, { events: [], emitter: new EventEmitter(), done: false });
  }

  emit(key: string, event: ProgressEvent): void {
    const stream = this.streams.get(key);
    if (!stream || stream.done) return;
    stream.events.push(event);
    stream.done = Boolean(event.ready || event.failed);
    stream.emitter.emit('event', event);
    // Keep the finished stream a little while for late subscribers, then forget it.
    if (stream.done)
      setTimeout(
        () => this.streams.get(key) === stream && this.streams.delete(key),
        60_000,
      ).unref();
  }

  /** Did the spawn of `key` fail within the last minute (its stream still kept)? */
  failedRecently(key: string): boolean {
    return Boolean(this.streams.get(key)?.events.at(-1)?.failed);
  }

  /** Replay past events then follow new ones; returns an unsubscribe function, or undefined if unknown. */
  subscribe(key: string, listener: (event: ProgressEvent) => void): (() => void) | undefined {
    const stream = this.streams.get(key);
    if (!stream) return undefined;
    for (const event of stream.events) listener(event);
    if (stream.done) return () => {};
    stream.emitter.on('event', listener);
    return () => stream.emitter.off('event', listener);
  }
}
