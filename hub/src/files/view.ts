/** What a user sees of the files service: the contract files-mounts applies in containers. */
export interface VolumeView {
  /** Root volume name, e.g. "Storage" ("Data" for data volumes). */
  root: string;
  /** Owner's account name ("data" for data volumes). */
  owner: string;
  /** Volume name, e.g. "persistent". */
  volume: string;
  /** Absolute host folder of the volume. */
  host_path: string;
  /** True for read-only shares and data volumes. */
  read_only: boolean;
}
