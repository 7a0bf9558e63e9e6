/**
 * Compute domains as configured: pure parsing of `ORRERY_COMPUTE_DOMAINS` (and of the
 * single-domain variables), so a typo stops the hub at start with a message naming it.
 *
 *   ORRERY_COMPUTE_DOMAINS="local=docker:unix:///var/run/docker.sock;big=swarm:tcp://mgr:2375"
 *
 * Each `;`-separated entry is `name=backend[:host,host,…]`. A host is a Docker URL
 * (`unix:///path`, `tcp://host:port` or `ssh://user@host[:port]`) with query settings:
 * - `fingerprint=SHA256:…` (SSH, required): the host key's fingerprint as `ssh-keygen -lf`
 *   prints it; `identity=/path/key` (SSH): a private key file, else the SSH agent of
 *   SSH_AUTH_SOCK;
 * - `tls=/dir`: TCP with TLS, the client certificate in Docker's layout (`ca.pem`,
 *   `cert.pem`, `key.pem`, as DOCKER_CERT_PATH);
 * - `bridge=orrery1`: the user network's bridge interface on that host (default: one named
 *   after the deployment's identity and the host, `or<identity><n>`);
 * - `insecure=1` (TCP): allow a `tcp://` host without TLS. Refused otherwise: anyone who
 *   reaches that port owns the daemon, and with it the host;
 * - `firewall=local|none`: whether the host is this machine, so the hub installs the user
 *   network firewall and listens on that network for its servers (default: local for `unix:`);
 * - `hub=<url>`: how servers on that host reach the hub, when the hub does not listen there
 *   itself (percent-encoded).
 */

export type ComputeBackendKind = 'auto' | 'docker' | 'swarm' | 'local';

export interface DockerHostSetting {
  /** The URL without its query: `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2375`. */
  url: string;
  /** Stable name saved with each server's state: `local` for a socket, else `host:port`. */
  name: string;
  /** The bridge interface of the user network, when set; null: named after the deployment. */
  bridge: string | null;
  /** Is this host this machine (the hub manages its firewall and listens on its network)? */
  local: boolean;
  /** Where its servers reach the hub, if set explicitly. */
  hubUrl: string | null;
  /** Directory of `ca.pem`, `cert.pem`, `key.pem` for TCP with TLS. */
  tlsDir: string | null;
  /** SSH: the host key fingerprint (`SHA256:…`) and an optional private key file. */
  ssh: { fingerprint: string; identityFile: string | null; agent: string | null } | null;
}

export interface ComputeDomainConfig {
  /** The RACM ComputeDomain's name, shown to users. */
  name: string;
  backend: ComputeBackendKind;
  /** Docker hosts (docker: the domain's hosts; swarm: its manager first). Empty for local. */
  hosts: DockerHostSetting[];
}

const SCHEMES = 'unix:///path, tcp://host:port or ssh://user@host';
const BACKENDS: readonly ComputeBackendKind[] = ['auto', 'docker', 'swarm', 'local'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The SSH agent socket of the hub's environment (SSH_AUTH_SOCK), for SSH hosts. */
export interface HostDefaults {
  sshAgent: string | null;
}

const NO_DEFAULTS: HostDefaults = { sshAgent: null };

export function parseDockerHost(
  raw: string,
  defaults: HostDefaults = NO_DEFAULTS,
): DockerHostSetting {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a Docker host URL (${SCHEMES})`);
  }
  if (!['unix:', 'tcp:', 'ssh:'].includes(parsed.protocol)) {
    throw new Error(`"${raw}": a Docker host is ${SCHEMES}`);
  }
  const known = new Set([
    'bridge',
    'firewall',
    'hub',
    'tls',
    'fingerprint',
    'identity',
    'insecure',
  ]);
  for (const key of parsed.searchParams.keys()) {
    if (!known.has(key)) throw new Error(`"${raw}": unknown setting "${key}"`);
  }
  const firewall = parsed.searchParams.get('firewall');
  if (firewall !== null && firewall !== 'local' && firewall !== 'none') {
    throw new Error(`"${raw}": firewall must be local or none`);
  }
  const bridge = parsed.searchParams.get('bridge');
  if (bridge !== null && !/^[A-Za-z0-9_-]{1,15}$/.test(bridge)) {
    throw new Error(`"${raw}": bridge must be an interface name of at most 15 characters`);
  }
  const tlsDir = parsed.searchParams.get('tls');
  if (tlsDir !== null && (parsed.protocol !== 'tcp:' || !tlsDir.startsWith('/'))) {
    throw new Error(`"${raw}": tls takes an absolute directory, on tcp:// hosts only`);
  }
  const insecure = parsed.searchParams.get('insecure');
  if (insecure !== null && (parsed.protocol !== 'tcp:' || insecure !== '1')) {
    throw new Error(`"${raw}": insecure=1 is for tcp:// hosts only`);
  }
  const isSsh = parsed.protocol === 'ssh:';
  if (isSsh && !parsed.username) {
    throw new Error(`"${raw}": an SSH host names its user (ssh://user@host)`);
  }
  // Base64 holds '+', which a query string reads as a space: put it back.
  const fingerprint = parsed.searchParams.get('fingerprint')?.replaceAll(' ', '+') ?? null;
  const identity = parsed.searchParams.get('identity');
  if (isSsh && !identity && !defaults.sshAgent) {
    throw new Error(
      `"${raw}": an SSH host needs identity=/path/key or an SSH agent (SSH_AUTH_SOCK)`,
    );
  }
  if (isSsh && !fingerprint?.startsWith('SHA256:')) {
    throw new Error(
      `"${raw}": an SSH host needs fingerprint=SHA256:… (ssh-keygen -lf its host key)`,
    );
  }
  if (!isSsh && (fingerprint !== null || identity !== null)) {
    throw new Error(`"${raw}": fingerprint and identity are for ssh:// hosts`);
  }
  if (identity !== null && !identity.startsWith('/')) {
    throw new Error(`"${raw}": identity takes an absolute path`);
  }
  if (parsed.protocol === 'tcp:' && tlsDir === null && insecure === null) {
    throw new Error(
      `"${raw}": a tcp:// Docker host needs tls=/dir (a daemon without TLS gives whoever reaches it the host); add insecure=1 to accept that`,
    );
  }
  const isSocket = parsed.protocol === 'unix:';
  const user = parsed.username ? `${parsed.username}@` : '';
  return {
    url: isSocket ? `unix://${parsed.pathname}` : `${parsed.protocol}//${user}${parsed.host}`,
    name: isSocket ? 'local' : parsed.host,
    bridge,
    local: firewall ? firewall === 'local' : isSocket,
    hubUrl: parsed.searchParams.get('hub'),
    tlsDir,
    ssh: isSsh
      ? { fingerprint: fingerprint!, identityFile: identity, agent: defaults.sshAgent }
      : null,
  };
}

/** One `name=backend[:hosts]` entry. */
function parseDomain(entry: string, defaults: HostDefaults): ComputeDomainConfig {
  const eq = entry.indexOf('=');
  if (eq < 0) throw new Error(`"${entry}": a compute domain is name=backend[:host,host]`);
  const name = entry.slice(0, eq).trim();
  if (!NAME.test(name)) throw new Error(`"${name}" is not a valid compute domain name`);
  const rest = entry.slice(eq + 1).trim();
  const colon = rest.indexOf(':');
  const backend = (colon < 0 ? rest : rest.slice(0, colon)) as ComputeBackendKind;
  if (!BACKENDS.includes(backend)) {
    throw new Error(`compute domain "${name}": backend must be one of ${BACKENDS.join(', ')}`);
  }
  const hostList = colon < 0 ? '' : rest.slice(colon + 1);
  return domain(
    name,
    backend,
    hostList
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
    defaults,
  );
}

/** A domain from its parts; Docker-based backends default to the local socket. */
export function domain(
  name: string,
  backend: ComputeBackendKind,
  hosts: string[] = [],
  defaults: HostDefaults = NO_DEFAULTS,
): ComputeDomainConfig {
  const urls = hosts.length > 0 || backend === 'local' ? hosts : ['unix:///var/run/docker.sock'];
  const parsed = urls.map((url) => parseDockerHost(url, defaults));
  const names = new Set(parsed.map((h) => h.name));
  if (names.size !== parsed.length) throw new Error(`compute domain "${name}" lists a host twice`);
  return { name, backend, hosts: parsed };
}

/**
 * The configured domains: `ORRERY_COMPUTE_DOMAINS` when set, else one domain from
 * `ORRERY_COMPUTE_DOMAIN` (name), `ORRERY_COMPUTE` (backend) and `ORRERY_DOCKER_HOSTS`.
 */
export function parseComputeDomains(
  domainsVariable: string | undefined,
  single: { name: string; backend: ComputeBackendKind; hosts: string[] },
  defaults: HostDefaults = NO_DEFAULTS,
): ComputeDomainConfig[] {
  if (!domainsVariable?.trim())
    return [domain(single.name, single.backend, single.hosts, defaults)];
  const domains = domainsVariable
    .split(';')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => parseDomain(entry, defaults));
  const names = new Set(domains.map((d) => d.name));
  if (names.size !== domains.length) throw new Error('ORRERY_COMPUTE_DOMAINS names a domain twice');
  return domains;
}
