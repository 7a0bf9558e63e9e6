/**
 * One event of a spawn's progress stream. A module of its own, free of Node imports, so the
 * page scripts (client/, compiled for the browser) share the type rather than restate it.
 */
export interface ProgressEvent {
  /** 0–100. */
  progress: number;
  message: string;
  ready?: boolean;
  failed?: boolean;
  /** Where to go once ready. */
  url?: string;
}
