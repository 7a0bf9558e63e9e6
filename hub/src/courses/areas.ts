/**
 * Where the hub keeps a course's released folders and students' submissions: in the Storage
 * root's hub area (`<root>/.orrery/courses/`, 0700), which is no volume's folder, so it is in
 * no user's view and no container ever sees it. A snapshot is built in the staging folder beside
 * it and renamed in whole.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { RootVolumeConfig } from '../files/config.ts';
import { hubArea } from '../files/disk.ts';

export const coursesArea = (root: RootVolumeConfig) => path.join(hubArea(root), 'courses');
export const courseArea = (root: RootVolumeConfig, courseId: number) =>
  path.join(coursesArea(root), String(courseId));
const assignmentArea = (root: RootVolumeConfig, courseId: number, assignmentId: number) =>
  path.join(courseArea(root, courseId), `a${assignmentId}`);

/** The assignment as released: what copies and the lecture volume are made from. */
export const releaseFolder = (root: RootVolumeConfig, courseId: number, assignmentId: number) =>
  path.join(assignmentArea(root, courseId, assignmentId), 'release');

/** A student's submissions of an assignment, one folder per number. */
export const submissionsFolder = (
  root: RootVolumeConfig,
  courseId: number,
  assignmentId: number,
  userId: number,
) => path.join(assignmentArea(root, courseId, assignmentId), 'submissions', String(userId));

/** The staging folder of the courses area, made if missing. */
export async function courseStaging(root: RootVolumeConfig): Promise<string> {
  const staging = path.join(coursesArea(root), '.staging');
  await fsp.mkdir(staging, { recursive: true, mode: 0o700 });
  return staging;
}
