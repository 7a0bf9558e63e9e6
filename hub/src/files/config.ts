/**
 * Root volumes: the storage areas user volumes live under (Storage, Temporary), from
 * ORRERY_ROOT_VOLUMES (JSON) or the defaults under the hub's state folder. Pure, so a typo in
 * the JSON stops the hub at start (config.ts calls this), not at the first upload.
 */
import path from 'node:path';

export interface RootVolumeConfig {
  /** The name users see and paths use: `Storage`, `Temporary`. */
  name: string;
  /** Absolute host folder; on several Docker hosts a shared filesystem mounted at the same path. */
  path: string;
  /** Each user's quota in this root, bytes; absent: no quota. */
  quota_bytes?: number;
  backed_up: boolean;
  /** Files older than this many days are purged by the sweeper; absent: never. */
  purge_after_days?: number;
}

export interface FilesConfig {
  rootVolumes: RootVolumeConfig[];
  /** Where removed volumes' files wait before they are deleted (outside every volume). */
  quarantineDays: number;
  /** User volumes one user may own. Env ORRERY_FILES_MAX_VOLUMES_PER_USER. Default 100. */
  maxVolumesPerUser: number;
  /** How often the usage rescan and the purge sweeper run, seconds. */
  sweepSeconds: number;
  /**
   * Where each user's volume view folder lives on every compute host (`<this>/<user id>`,
   * bound at /home/jovyan/volumes in their containers); local disk, the same path on every
   * host, never on the shared filesystem. Env ORRERY_VOLUME_VIEWS_ROOT. Default
   * `<state>/views`; staging beside it (`<this>-stage`).
   */
  volumeViewsRoot?: string;
}

/** The root data volumes appear under: never a configured root's name. */
export const DATA_ROOT = 'Data';
/** The owner segment of a data volume's path (`Data/data/<name>`): they belong to the platform. */
export const DATA_OWNER = 'data';

/** The volume views' folder (config or `<state>/views`), absolute and normalised. */
export function viewsRootOf(
  config: Pick<FilesConfig, 'volumeViewsRoot'>,
  stateDir: string,
): string {
  return path.resolve(config.volumeViewsRoot ?? path.join(stateDir, 'views'));
}

export const DEFAULT_QUOTA_BYTES = 10 * 1024 ** 3;

export function defaultRootVolumes(stateDir: string): RootVolumeConfig[] {
  const base = path.resolve(stateDir, 'volumes');
  return [
    {
      name: 'Storage',
      path: path.join(base, 'storage'),
      quota_bytes: DEFAULT_QUOTA_BYTES,
      backed_up: true,
    },
    {
      name: 'Temporary',
      path: path.join(base, 'temporary'),
      backed_up: false,
      purge_after_days: 30,
    },
  ];
}

const ROOT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/** Parse ORRERY_ROOT_VOLUMES; throws a message naming the bad entry. */
export function parseRootVolumes(raw: string | undefined, stateDir: string): RootVolumeConfig[] {
  if (!raw?.trim()) return defaultRootVolumes(stateDir);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('ORRERY_ROOT_VOLUMES is not valid JSON');
  }
  if (!Array.isArray(parsed) || parsed.length === 0)
    throw new Error('ORRERY_ROOT_VOLUMES must be a non-empty JSON array');
  const seen = new Set<string>();
  return parsed.map((entry, i) => {
    const where = `ORRERY_ROOT_VOLUMES[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw new Error(`${where} is not an object`);
    const {
      name,
      path: folder,
      quota_bytes,
      backed_up,
      purge_after_days,
      ...rest
    } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length) throw new Error(`${where} has unknown fields: ${unknown.join(', ')}`);
    if (typeof name !== 'string' || !ROOT_NAME.test(name))
      throw new Error(`${where}.name must be a letter then up to 31 letters, digits, - or _`);
    if (name === DATA_ROOT)
      throw new Error(`${where}.name "${DATA_ROOT}" is kept for data volumes`);
    if (seen.has(name.toLowerCase())) throw new Error(`${where}.name "${name}" is listed twice`);
    seen.add(name.toLowerCase());
    if (typeof folder !== 'string' || !path.isAbsolute(folder))
      throw new Error(`${where}.path must be an absolute path`);
    const positive = (value: unknown, field: string) => {
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
        throw new Error(`${where}.${field} must be a positive integer`);
      return value;
    };
    const root: RootVolumeConfig = {
      name,
      path: path.normalize(folder),
      backed_up: backed_up === true,
    };
    const quota = positive(quota_bytes, 'quota_bytes');
    if (quota !== undefined) root.quota_bytes = quota;
    const days = positive(purge_after_days, 'purge_after_days');
    if (days !== undefined) root.purge_after_days = days;
    return root;
  });
}
