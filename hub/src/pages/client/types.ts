/** The API's answers, as far as the pages read them (the OpenAPI document has the whole shape). */

export interface ApiRefusal {
  error: string;
  message: string;
}

/** As the hub reports it: starting, running, stopping… */
export type ServerStatus = string;

export interface ServerInfo {
  name: string;
  image: string;
  domain: string;
  status: ServerStatus;
  url: string;
  progressUrl: string;
  readyAt: string | null;
  cullAt: string | null;
}

export interface ComputeInfo {
  images: string[];
  domains: { name: string; backend: string }[];
  maxServers: number;
  limits: { memoryBytes: number; cpus: number };
  idleCullSeconds: number;
}

/** One server-sent event of a spawn's progress stream: the hub's own type (erased when bundled). */
export type { ProgressEvent } from '../../compute/progressEvent.ts';

export interface Registered {
  pendingApproval: boolean;
}
