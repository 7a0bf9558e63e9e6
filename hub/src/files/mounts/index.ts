/**
 * Volumes in containers (files-mounts), wired to files-core by ../serverVolumes.ts:
 *
 * - `VolumeMounter.applyView(userId, viewOf(userId))` from `onViewChanged` and before a server
 *   starts (the view folder must exist before Docker binds it); `reconcile` at hub start.
 * - Spawn requests carry `volumesViewHostPath: mounter.viewPath(userId)` and
 *   `workspaceHostPath` (the user's `Storage/<id>/<persistent id>` folder); the Docker backend's
 *   `spec.bindRoots` lists the root volumes' folders and the views root.
 * - `migrateDockerWorkspace` before the first start on Storage (`migrateLocalWorkspace` is for
 *   local servers, which keep their folder today).
 * - `quotaEnforcerFor(root.path)` per root volume, used by ../limits.ts on owners' folders.
 */
export { DockerHelperMountHost, HELPER_LABEL, LocalMountHost, type MountHost } from './hosts.ts';
export {
  type MountableVolume,
  ViewNotApplied,
  VolumeMounter,
  type VolumeMounterConfig,
} from './mounter.ts';
export { type MountHostOptions, mountHostsOf } from './mountHosts.ts';
export { noQuotas, type QuotaEnforcer, type QuotaUsage, quotaEnforcerFor } from './quota.ts';
export {
  type MigrationOutcome,
  migrateDockerWorkspace,
  migrateLocalWorkspace,
} from './workspace.ts';
