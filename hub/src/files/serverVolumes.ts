/**
 * Volumes in users' Docker servers, wired (docs/files.md, "Volumes in containers"): before a
 * server starts, its old workspace is migrated into the user's Storage `persistent` volume and
 * the user's view is applied on the domain's hosts; when a view changes, it is applied again on
 * the hosts of the user's servers; at hub start every view in use is reconciled; a deleted
 * account's view folder goes. The mounting itself is files-mounts' (mounts/).
 */
import { readdir } from 'node:fs/promises';
import type { DockerClient } from '@orrery/spawner';
import type { UserRecord } from '../auth/principal.ts';
import type { ServerVolumes as ComputeServerVolumes } from '../compute/orchestrator.ts';
import { allServers, serversOf } from '../compute/store.ts';
import type { VolumeHosts } from '../compute/volumeHosts.ts';
import type { Db } from '../db/pool.ts';
import { runningJobDomains, usersWithRunningJobs } from '../jobs/store.ts';
import type { Logger } from '../log.ts';
import { migrateDockerWorkspace, type VolumeMounter } from './mounts/index.ts';
import type { FilesService } from './service.ts';
import { DEFAULT_VOLUMES } from './volumes.ts';

/** The root whose default volume is the workspace (`Storage`, whose default is `persistent`). */
const WORKSPACE_VOLUME = 'persistent';

export class ServerVolumes implements ComputeServerVolumes {
  /** View applies under way (close waits for them). */
  private readonly applying = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly files: FilesService,
    private readonly mounter: VolumeMounter,
    private readonly hosts: VolumeHosts,
    private readonly log: Logger,
  ) {}

  /**
   * Before a Docker server of `user` starts on `domain`: the Storage folder (the old workspace
   * copied in if it is still empty), the view applied on the domain's hosts, and the two host
   * folders the container binds. Without a root holding the `persistent` default volume, the
   * named workspace volume stays.
   */
  async prepare(user: UserRecord, domain: string, oldWorkspace: string) {
    const hosts = this.hosts.domains.get(domain);
    const workspace = await this.workspaceFolder(user);
    if (workspace && hosts) await this.migrate(user, workspace, oldWorkspace, hosts.dockers);
    await this.apply(user.id, hosts?.hostNames ?? []);
    return {
      ...(workspace ? { workspaceHostPath: workspace } : {}),
      volumesViewHostPath: this.mounter.viewPath(user.id),
    };
  }

  /** The user's `Storage/<me>/persistent` folder (made on first use), or null without that root. */
  private async workspaceFolder(user: UserRecord): Promise<string | null> {
    const root = Object.keys(DEFAULT_VOLUMES).find(
      (name) =>
        DEFAULT_VOLUMES[name] === WORKSPACE_VOLUME &&
        this.files.volumes.rootVolumes.some((r) => r.name === name),
    );
    if (!root) return null;
    const volume = await this.files.volumes.resolve(
      user.id,
      root,
      user.name,
      WORKSPACE_VOLUME,
      'write',
    );
    return volume.hostPath;
  }

  /**
   * Copy the old workspace volume into an empty Storage folder, from whichever of the domain's
   * hosts has it. A folder with files of its own was migrated (or used) already: nothing to ask
   * the hosts then. A copy left half done by a crash is finished (files-mounts' script).
   */
  private async migrate(
    user: UserRecord,
    target: string,
    oldVolume: string,
    dockers: DockerClient[],
  ): Promise<void> {
    const entries = await readdir(target);
    if (entries.some((name) => !name.startsWith('.orrery-migration'))) return;
    for (const docker of dockers) {
      const outcome = await migrateDockerWorkspace({
        docker,
        oldVolume,
        target,
        image: this.hosts.helperImage,
        labels: this.hosts.helperLabels,
      });
      if (outcome === 'no_old_workspace') continue;
      this.log.info({ owner: user.name, oldVolume, outcome }, 'workspace migrated to Storage');
      return;
    }
  }

  /**
   * Apply the user's view on `hostNames` (none: nothing to do). What could not be applied is
   * logged: a volume whose folder is missing must not keep the user's server from starting.
   */
  private async apply(userId: number, hostNames: string[]): Promise<void> {
    if (hostNames.length === 0) return;
    try {
      await this.mounter.applyView(userId, await this.files.viewOf(userId), hostNames);
    } catch (err) {
      this.log.warn({ userId, err: String(err) }, 'volume view not fully applied');
    }
  }

  /**
   * The mount hosts of the domains `userId` has servers on (running or starting) or batch jobs
   * running on: job containers bind the same view as servers.
   */
  private async hostsOfServers(userId: number): Promise<string[]> {
    const names = new Set<string>();
    const domains = [
      ...(await serversOf(this.db, userId)).map((server) => server.domain),
      ...(await runningJobDomains(this.db, userId)),
    ];
    for (const domain of domains)
      for (const name of this.hosts.domains.get(domain)?.hostNames ?? []) names.add(name);
    return [...names];
  }

  /** From onViewChanged: re-apply each user's view where their servers are (in order per user). */
  viewChanged(userIds: number[]): void {
    for (const userId of userIds) {
      const done = this.hostsOfServers(userId)
        .then((hostNames) => this.apply(userId, hostNames))
        .catch((err) => this.log.warn({ userId, err: String(err) }, 'view update failed'))
        .finally(() => this.applying.delete(done));
      this.applying.add(done);
    }
  }

  /**
   * At hub start: the view of every user with a server or a running job (and of every view folder on this
   * machine, emptied when its user has no volume) made what RACM says now, on every mount host:
   * shares revoked through the generic RACM routes, or while the hub was down, go.
   */
  async reconcile(): Promise<void> {
    const users = [
      ...new Set([
        ...(await allServers(this.db)).map((server) => server.userId),
        ...(await usersWithRunningJobs(this.db)),
      ]),
    ];
    const failed = await this.mounter.reconcile(users, (id) => this.files.viewOf(id));
    for (const [userId, err] of failed)
      this.log.warn({ userId, err: String(err) }, 'volume view not reconciled');
  }

  /** A deleted account (after compute stopped its servers): its view folder goes everywhere. */
  forget(userId: number): Promise<void> {
    return this.mounter.forget(userId);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.applying]);
  }
}
