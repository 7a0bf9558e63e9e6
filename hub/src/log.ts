/** Structured JSON logs. Messages are short; request data is never logged whole. */
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'orrery-hub' } }, destination);
}

/** Cut a user-supplied string so a log line stays small whatever the input. */
export function clip(value: unknown, max = 200): string {
  const text = String(value);
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}
