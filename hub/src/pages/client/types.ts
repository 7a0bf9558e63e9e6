/** The API's answers, as far as the pages read them (the OpenAPI document has the whole shape). */

export interface ApiRefusal {
  error: string;
  message: string;
}

/** As the hub reports it: starting, running, stopping… */
export type ServerStatus = string;

/** A server in the user model (JupyterHub's server model; "" names the default server). */
export interface ServerInfo {
  name: string;
  image: string;
  domain: string;
  status: ServerStatus;
  url: string;
  progress_url: string;
  ready_at: string | null;
  cull_at: string | null;
}

/** The user model, as far as the home page reads it: servers keyed by name. */
export interface UserModel {
  servers?: Record<string, ServerInfo>;
}

export interface ComputeInfo {
  images: string[];
  domains: { name: string; backend: string }[];
  max_servers: number;
  limits: { memory_bytes: number; cpus: number };
  idle_cull_seconds: number;
}

/** One server-sent event of a spawn's progress stream: the hub's own type (erased when bundled). */
export type { ProgressEvent } from '../../compute/progressEvent.ts';

export interface Registered {
  pending_approval: boolean;
}

/** A share of a server (JupyterHub 5's share model). */
export interface ShareInfo {
  server: { name: string; full_name: string; user: { name: string }; url: string; ready: boolean };
  scopes: string[];
  kind: 'user' | 'group';
  user: { name: string } | null;
  group: { name: string } | null;
}

export interface ShareCodeMade {
  code: string;
  accept_url: string;
  expires_at: string;
}
