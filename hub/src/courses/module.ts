/**
 * Courses as a feature module (docs/courses.md). It builds on groups (a course is a group) and
 * files (volumes, shares, quotas), so it comes after both. It takes a clock, so tests move time
 * (release, due, archive); starting it runs the release sweeper on that clock.
 */
import { filesModule } from '../files/module.ts';
import { groupsModule } from '../groups/module.ts';
import type { FeatureModule } from '../module.ts';
import { Assignments } from './assignments.ts';
import { coursesInventory, removeSubmissionsOf } from './inventory.ts';
import { joinPageRoutes } from './joinPage.ts';
import { courseRoutes } from './routes.ts';
import { CoursesService } from './service.ts';
import { CourseVolumes } from './volumes.ts';
import { CourseWork } from './work.ts';

export interface CoursesModuleOptions {
  /** What "now" is for every date rule. Default the system clock. */
  clock?: () => Date;
}

/** The courses module with its options (tests pass a clock they move). */
export function coursesModuleWith(
  options: CoursesModuleOptions = {},
): FeatureModule<CoursesService> {
  const clock = options.clock ?? (() => new Date());
  return {
    name: 'courses',
    routes: courseRoutes,
    async open({ hub, use }) {
      const files = use(filesModule);
      const storage = files.volumes.root('Storage');
      const volumes = new CourseVolumes(hub.db, files);
      const assignments = new Assignments(hub.db, files, volumes, storage, clock, hub.log);
      const work = new CourseWork(hub.db, files, assignments, volumes, storage, clock);
      const service = new CoursesService(
        hub.db,
        use(groupsModule),
        assignments,
        work,
        volumes,
        storage,
        {
          maxGroupsPerUser: hub.config.maxGroupsPerUser,
          openCreation: hub.config.coursesOpen,
          publicUrl: hub.config.publicUrl,
        },
        clock,
        hub.log,
      );
      hub.accountRemovers.add('courses', (removal) => removeSubmissionsOf(storage, removal.userId));
      hub.accountRemovers.describe('courses', (account) => coursesInventory(hub.db, account));
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<void> = Promise.resolve();
      return {
        service,
        pages: joinPageRoutes(hub, service),
        start() {
          timer = setInterval(() => {
            running = service
              .sweep()
              .catch((err) =>
                hub.log.warn({ err: String(err) }, 'course sweep failed; it runs again'),
              );
          }, hub.config.coursesReleaseSeconds * 1000);
          timer.unref();
        },
        async close() {
          clearInterval(timer);
          await running;
        },
      };
    },
  };
}

export const coursesModule = coursesModuleWith();
