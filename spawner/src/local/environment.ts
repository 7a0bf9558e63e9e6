/**
 * The whole environment of a local server, built from nothing: never the hub's own
 * (`process.env` holds DATABASE_URL, ORRERY_SECRET_KEY and whatever else the operator set).
 */
import { serverEnv } from '../containerSpec.ts';
import type { SpawnRequest } from '../types.ts';

export interface LocalEnvOptions {
  /** PATH of the server (the venv's bin first). */
  path: string;
  /** The server's locale. */
  lang: string;
}

/**
 * The server's variables (request, reserved, `JUPYTER_TOKEN` from its secret), its resource
 * name (how the backend recognises its process), PATH, HOME (the workspace) and LANG.
 */
export function localServerEnv(
  request: SpawnRequest,
  workspace: string,
  resourceName: string,
  options: LocalEnvOptions,
): Record<string, string> {
  // The secret becomes Jupyter's token through JUPYTER_TOKEN, never the command line.
  const { ORRERY_SERVER_SECRET: secret, ...env } = serverEnv(request, workspace);
  return {
    ...env,
    JUPYTER_TOKEN: secret!,
    ORRERY_RESOURCE_NAME: resourceName,
    PATH: options.path,
    HOME: workspace,
    LANG: options.lang,
  };
}
