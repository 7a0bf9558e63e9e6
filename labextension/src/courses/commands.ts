/**
 * The Course commands. The panel's buttons and the palette both run these; arguments that are
 * missing are asked for in dialogs (a course, an assignment, a student). Every failure is
 * shown in an error dialog with the hub's message.
 */
import { Clipboard, Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { ask, confirm, pick, run } from '../dialogs.js';
import { CommandIDs, type IAssignment, type IVolumeFolder } from '../tokens.js';
import { askForm } from './dialog.js';
import { courseLabel, formatWhen } from './format.js';
import {
  courseRequest,
  distributeRequest,
  gradeRequest,
  type IDistributeValues,
  localInputValue,
} from './forms.js';
import type { CoursesModel } from './model.js';
import { browserPathOfHubPath, folderLabel, volumeFolderOf } from './paths.js';

export interface ICoursesCommandsOptions {
  commands: CommandRegistry;
  model: CoursesModel;
  trans: TranslationBundle;
  openPanel: () => void;
  /** The folder the file browser shows ("" at its top). */
  currentFolder: () => string;
  /** The one `.csv` file selected in the file browser, if any. */
  selectedCSV: () => string | null;
  /** The browser folder of the workspace ("" when the browser is rooted at it; a setting). */
  workspaceFolder: () => string;
  readText: (path: string) => Promise<string>;
  saveText: (path: string, text: string) => Promise<void>;
  showFolder: (path: string) => Promise<void>;
  openFile: (path: string) => Promise<void>;
}

const str = (raw: ReadonlyPartialJSONObject, key: string): string | undefined =>
  typeof raw[key] === 'string' ? (raw[key] as string) : undefined;

const DAY = 24 * 3600 * 1000;

export function registerCoursesCommands(options: ICoursesCommandsOptions): void {
  const { commands, model, trans } = options;

  /** The course of the arguments (selected in the panel), else the selected one, else asked. */
  const chooseCourse = async (raw: ReadonlyPartialJSONObject, staffOnly = false): Promise<void> => {
    if (!model.loaded) {
      await model.refresh();
    }
    const given = str(raw, 'slug');
    const current = model.course;
    const usable = model.courses.filter((c) => !staffOnly || c.role !== 'student');
    const slug =
      given ??
      (current && usable.includes(current)
        ? current.slug
        : await pick(
            trans.__('Choose a course'),
            usable.map((c) => ({ label: courseLabel(c), value: c.slug })),
            staffOnly
              ? trans.__('You teach or assist no course.')
              : trans.__('You take or teach no course.'),
          ));
    if (slug !== model.course?.slug) {
      await model.select(slug);
    }
  };

  const chooseAssignment = async (
    raw: ReadonlyPartialJSONObject,
    filter: (a: IAssignment) => boolean = () => true,
  ): Promise<IAssignment> => {
    const given = str(raw, 'assignment');
    const found = given ? model.assignment(given) : null;
    if (found) {
      return found;
    }
    if (given) {
      throw new Error(trans.__('The course has no assignment %1.', given));
    }
    return pick(
      trans.__('Choose an assignment'),
      model.assignments.filter(filter).map((a) => ({ label: a.title || a.name, value: a })),
      trans.__('The course has no assignment for this yet.'),
    );
  };

  const me = (): string => model.user?.name ?? '';
  const folderOf = (browserPath: string): IVolumeFolder | null =>
    volumeFolderOf(browserPath, me(), options.workspaceFolder());
  const show = (hubPath: string) =>
    options.showFolder(browserPathOfHubPath(hubPath, options.workspaceFolder()));

  commands.addCommand(CommandIDs.openCourses, {
    label: trans.__('Show Orrery Courses'),
    caption: trans.__('Open the Course panel'),
    execute: () => options.openPanel(),
  });

  commands.addCommand(CommandIDs.refreshCourses, {
    label: trans.__('Refresh Orrery Courses'),
    execute: () => run(trans.__('Could not load your courses'), () => model.refresh()),
  });

  commands.addCommand(CommandIDs.selectCourse, {
    label: trans.__('Choose Orrery Course…'),
    execute: (raw) =>
      run(trans.__('Could not open the course'), async () => {
        await chooseCourse(raw);
        options.openPanel();
      }),
  });

  commands.addCommand(CommandIDs.createCourse, {
    label: trans.__('Create Orrery Course…'),
    caption: trans.__('Create a course you teach: a group with a roster and assignments'),
    execute: () =>
      run(trans.__('Could not create the course'), async () => {
        const values = await askForm({
          title: trans.__('New course'),
          testid: 'orrery-course-form',
          okLabel: trans.__('Create'),
          trans,
          fields: [
            {
              key: 'slug',
              label: trans.__('Short name (in paths and links)'),
              kind: 'text',
              placeholder: 'astro101',
            },
            { key: 'title', label: trans.__('Title'), kind: 'text' },
            { key: 'term', label: trans.__('Term (optional)'), kind: 'text' },
            {
              key: 'endsAt',
              label: trans.__('Ends (archived read-only then)'),
              kind: 'datetime',
            },
          ],
          initial: {
            slug: '',
            title: '',
            term: '',
            endsAt: localInputValue(new Date(Date.now() + 120 * DAY)),
          },
          check: (v) => {
            courseRequest({ slug: v.slug!, title: v.title!, term: v.term!, endsAt: v.endsAt! });
            return { slug: v.slug!, title: v.title!, term: v.term!, endsAt: v.endsAt! };
          },
        });
        if (!values) {
          return;
        }
        const made = await model.createCourse(values);
        options.openPanel();
        Notification.success(trans.__('Course %1 created.', courseLabel(made)), {
          autoClose: 3000,
        });
      }),
  });

  const rosterNotice = (added: string[], already: string[], unknown: string[]) => {
    const parts = [
      added.length ? trans.__('Added: %1.', added.join(', ')) : trans.__('Nobody added.'),
      already.length ? trans.__('Already in the course: %1.', already.join(', ')) : '',
      unknown.length ? trans.__('Unknown here: %1.', unknown.join(', ')) : '',
    ].filter(Boolean);
    const say = unknown.length ? Notification.warning : Notification.success;
    say(parts.join(' '), { autoClose: unknown.length ? false : 4000 });
  };

  const addMembers = (role: 'student' | 'ta') => async (raw: ReadonlyPartialJSONObject) => {
    await chooseCourse(raw, true);
    const csvPath = str(raw, 'csvPath') ?? (str(raw, 'names') ? null : options.selectedCSV());
    const change = csvPath
      ? await model.addCSV(await options.readText(csvPath), role)
      : await model.addToRoster(
          str(raw, 'names') ??
            (await ask(
              role === 'ta' ? trans.__('Add teaching assistants') : trans.__('Add students'),
              trans.__('User names or e-mail addresses (spaces, commas or lines between)'),
            )),
          role,
        );
    rosterNotice(change.added, change.already, change.unknown);
  };

  commands.addCommand(CommandIDs.addStudents, {
    label: trans.__('Add Students to Orrery Course…'),
    caption: trans.__('By user name or e-mail, or from the CSV file selected in the file browser'),
    execute: (raw) => run(trans.__('Could not add the students'), () => addMembers('student')(raw)),
  });

  commands.addCommand(CommandIDs.addTA, {
    label: trans.__('Add Teaching Assistants to Orrery Course…'),
    execute: (raw) => run(trans.__('Could not add the assistants'), () => addMembers('ta')(raw)),
  });

  commands.addCommand(CommandIDs.removeFromRoster, {
    label: trans.__('Remove from Orrery Course…'),
    execute: (raw) =>
      run(trans.__('Could not remove from the course'), async () => {
        await chooseCourse(raw, true);
        const name =
          str(raw, 'name') ??
          (await pick(
            trans.__('Remove whom?'),
            model.roster
              .filter((m) => m.role !== 'teacher')
              .map((m) => ({ label: `${m.name} (${m.role})`, value: m.name })),
            trans.__('The course has nobody to remove.'),
          ));
        await model.removeFromRoster(name);
        Notification.success(trans.__('%1 left the course.', name), { autoClose: 3000 });
      }),
  });

  commands.addCommand(CommandIDs.makeInvitation, {
    label: trans.__('Make Orrery Course Invitation Code'),
    caption: trans.__(
      'A code and a link that let a signed-in student join (a new one replaces the old)',
    ),
    execute: (raw) =>
      run(trans.__('Could not make an invitation code'), async () => {
        await chooseCourse(raw, true);
        const hours = Number(str(raw, 'hours') ?? raw['hours']);
        await model.makeInvitation(Number.isFinite(hours) && hours > 0 ? hours : undefined);
        options.openPanel();
      }),
  });

  commands.addCommand(CommandIDs.copyInvitationLink, {
    label: trans.__('Copy Orrery Course Invitation Link'),
    isEnabled: () => model.invitation !== null,
    execute: () => {
      const invitation = model.invitation;
      if (invitation) {
        Clipboard.copyToSystem(invitation.url);
        Notification.info(
          trans.__('Link copied; it works until %1.', formatWhen(invitation.expires_at)),
          {
            autoClose: 3000,
          },
        );
      }
    },
  });

  commands.addCommand(CommandIDs.joinCourse, {
    label: trans.__('Join Orrery Course with a Code…'),
    execute: (raw) =>
      run(trans.__('Could not join the course'), async () => {
        const code =
          str(raw, 'code') ??
          (await ask(trans.__('Join a course'), trans.__('Invitation code or link')));
        const course = await model.join(code);
        options.openPanel();
        Notification.success(trans.__('You joined %1.', courseLabel(course)), { autoClose: 3000 });
      }),
  });

  commands.addCommand(CommandIDs.leaveCourse, {
    label: trans.__('Leave Orrery Course…'),
    execute: (raw) =>
      run(trans.__('Could not leave the course'), async () => {
        await chooseCourse(raw);
        const course = model.course!;
        await confirm(
          trans.__('Leave %1', courseLabel(course)),
          trans.__('You lose the lecture folders at once; your own copies stay in your workspace.'),
          trans.__('Leave'),
        );
        await model.leave();
      }),
  });

  commands.addCommand(CommandIDs.distribute, {
    label: trans.__('Distribute Orrery Assignment…'),
    caption: trans.__('Release a folder to the class: read-only, or a copy for each student'),
    execute: (raw) =>
      run(trans.__('Could not distribute the assignment'), async () => {
        await chooseCourse(raw, true);
        const source = str(raw, 'source') ?? options.currentFolder();
        const values = await askForm<IDistributeValues>({
          title: trans.__('Distribute to %1', courseLabel(model.course!)),
          testid: 'orrery-distribute-form',
          okLabel: trans.__('Distribute'),
          trans,
          fields: [
            { key: 'name', label: trans.__('Name (in paths)'), kind: 'text', placeholder: 'hw1' },
            { key: 'title', label: trans.__('Title'), kind: 'text' },
            {
              key: 'source',
              label: trans.__('Source folder'),
              kind: 'text',
              help: trans.__(
                'A folder in your workspace, or volumes/<root>/<owner>/<volume>/… (the file browser’s folder is proposed)',
              ),
            },
            {
              key: 'mode',
              label: trans.__('Mode'),
              kind: 'select',
              choices: [
                { value: 'lecture', label: trans.__('Lecture: read-only, shared with the class') },
                { value: 'copy', label: trans.__('Copy: each student gets their own copy') },
              ],
            },
            {
              key: 'releaseAt',
              label: trans.__('Release (empty: now)'),
              kind: 'datetime',
            },
            { key: 'dueAt', label: trans.__('Due (optional)'), kind: 'datetime' },
          ],
          initial: { name: '', title: '', source, mode: 'copy', releaseAt: '', dueAt: '' },
          check: (v) => {
            const values: IDistributeValues = {
              name: v.name!,
              title: v.title!,
              source: v.source!,
              mode: v.mode === 'lecture' ? 'lecture' : 'copy',
              releaseAt: v.releaseAt!,
              dueAt: v.dueAt!,
            };
            distributeRequest(values, folderOf);
            return values;
          },
        });
        if (!values) {
          return;
        }
        const made = await model.distribute(values, folderOf);
        const source_ = folderOf(values.source);
        Notification.success(
          made.released
            ? trans.__(
                '%1 distributed from %2.',
                made.title || made.name,
                source_ ? folderLabel(source_) : '',
              )
            : trans.__(
                '%1 will be released on %2.',
                made.title || made.name,
                formatWhen(made.release_at),
              ),
          { autoClose: 4000 },
        );
      }),
  });

  commands.addCommand(CommandIDs.collect, {
    label: trans.__('Collect Orrery Submissions…'),
    caption: trans.__('Copy the latest submission of every student into a grading folder'),
    execute: (raw) =>
      run(trans.__('Could not collect the submissions'), async () => {
        await chooseCourse(raw, true);
        const a = await chooseAssignment(raw, (x) => x.released);
        const collected = await model.collect(a.name);
        const late = collected.students.filter((s) => s.late).length;
        Notification.success(
          trans.__(
            'Collected %1 submissions (%2 late) into %3. Missing: %4.',
            collected.students.length,
            late,
            collected.path,
            collected.missing.length ? collected.missing.join(', ') : trans.__('nobody'),
          ),
          { autoClose: 6000 },
        );
        await show(collected.path);
      }),
  });

  commands.addCommand(CommandIDs.returnFeedback, {
    label: trans.__('Return Orrery Feedback…'),
    caption: trans.__('Copy each student’s feedback folder next to their submission'),
    execute: (raw) =>
      run(trans.__('Could not return the feedback'), async () => {
        await chooseCourse(raw, true);
        const a = await chooseAssignment(raw, (x) => x.released);
        const students = str(raw, 'student') ? [str(raw, 'student')!] : undefined;
        const r = await model.returnFeedback(a.name, students);
        const say = r.without_feedback.length ? Notification.warning : Notification.success;
        say(
          [
            trans.__(
              'Feedback returned to %1.',
              r.returned.length ? r.returned.join(', ') : trans.__('nobody'),
            ),
            r.without_feedback.length
              ? trans.__('No feedback folder yet for %1.', r.without_feedback.join(', '))
              : '',
          ]
            .filter(Boolean)
            .join(' '),
          { autoClose: r.without_feedback.length ? false : 4000 },
        );
      }),
  });

  commands.addCommand(CommandIDs.gradeStudent, {
    label: trans.__('Grade Orrery Submission…'),
    execute: (raw) =>
      run(trans.__('Could not save the grade'), async () => {
        await chooseCourse(raw, true);
        const a = await chooseAssignment(raw, (x) => x.released);
        const student =
          str(raw, 'student') ??
          (await pick(
            trans.__('Grade whom?'),
            model.students.map((m) => ({ label: m.name, value: m.name })),
            trans.__('The course has no student.'),
          ));
        const before = model.grade(a.name, student);
        const values = await askForm({
          title: trans.__('%1: %2', a.title || a.name, student),
          testid: 'orrery-grade-form',
          okLabel: trans.__('Save'),
          trans,
          fields: [
            { key: 'score', label: trans.__('Score (empty: none)'), kind: 'text' },
            { key: 'comment', label: trans.__('Comment'), kind: 'textarea' },
          ],
          initial: {
            score:
              before?.score === null || before?.score === undefined ? '' : String(before.score),
            comment: before?.comment ?? '',
          },
          check: (v) => {
            const values = { score: v.score!, comment: v.comment! };
            gradeRequest(values);
            return values;
          },
        });
        if (values) {
          await model.setGrade(a.name, student, values);
        }
      }),
  });

  commands.addCommand(CommandIDs.exportGrades, {
    label: trans.__('Export Orrery Course Grades as CSV'),
    caption: trans.__('Write <course>-grades.csv into the file browser’s folder and open it'),
    execute: (raw) =>
      run(trans.__('Could not export the grades'), async () => {
        await chooseCourse(raw, true);
        const csv = await model.gradesCSV();
        const folder = options.currentFolder();
        const path = [folder, `${model.course!.slug}-grades.csv`].filter(Boolean).join('/');
        await options.saveText(path, csv);
        await options.openFile(path);
      }),
  });

  commands.addCommand(CommandIDs.fetchAssignment, {
    label: trans.__('Fetch Orrery Assignment'),
    caption: trans.__('Open your copy (made now if missing) or the lecture folder'),
    execute: (raw) =>
      run(trans.__('Could not fetch the assignment'), async () => {
        await chooseCourse(raw);
        const a = await chooseAssignment(raw, (x) => x.released);
        if (a.mode === 'lecture' && a.path_in_lecture) {
          await show(a.path_in_lecture);
          return;
        }
        await show(await model.fetch(a.name));
      }),
  });

  commands.addCommand(CommandIDs.submitAssignment, {
    label: trans.__('Submit Orrery Assignment…'),
    caption: trans.__('Submit your copy or the file browser’s folder as it stands now'),
    execute: (raw) =>
      run(trans.__('Could not submit'), async () => {
        await chooseCourse(raw);
        const a = await chooseAssignment(raw, (x) => x.released);
        const here = options.currentFolder();
        const choices = [
          ...(a.copy_path ? [{ value: 'copy', label: trans.__('My copy (%1)', a.copy_path) }] : []),
          {
            value: 'folder',
            label: trans.__('This folder (%1)', here || trans.__('workspace top')),
          },
        ];
        const given = str(raw, 'from');
        const from =
          given === 'copy' || given === 'folder'
            ? given
            : ((await askForm({
                title: trans.__('Submit %1', a.title || a.name),
                testid: 'orrery-submit-form',
                okLabel: trans.__('Submit'),
                trans,
                fields: [
                  {
                    key: 'from',
                    label: trans.__('What to submit (a snapshot: later edits do not change it)'),
                    kind: 'select',
                    choices,
                  },
                ],
                initial: { from: choices[0]!.value },
                check: (v) => v.from!,
              })) ?? null);
        if (from === null) {
          return;
        }
        let folder: IVolumeFolder | undefined;
        if (from === 'folder') {
          folder = folderOf(here) ?? undefined;
          if (!folder) {
            throw new Error(trans.__('The folder %1 is in no volume of yours.', here));
          }
        }
        const receipt = await model.submit(a.name, folder);
        Notification.success(
          receipt.late
            ? trans.__(
                'Submission %1 received, late (%2).',
                receipt.number,
                formatWhen(receipt.submitted_at),
              )
            : trans.__(
                'Submission %1 received (%2).',
                receipt.number,
                formatWhen(receipt.submitted_at),
              ),
          { autoClose: 4000 },
        );
      }),
  });

  commands.addCommand(CommandIDs.openFeedback, {
    label: trans.__('Open Orrery Feedback'),
    execute: (raw) =>
      run(trans.__('Could not open the feedback'), async () => {
        await chooseCourse(raw);
        const a = await chooseAssignment(raw, (x) => !!x.mine?.feedback_path);
        const path = a.mine?.feedback_path;
        if (!path) {
          throw new Error(trans.__('No feedback has been returned for %1 yet.', a.title || a.name));
        }
        await show(path);
      }),
  });
}

/** Commands shown in the palette under the "Orrery" category. */
export const COURSES_PALETTE_COMMANDS: readonly CommandIDs[] = [
  CommandIDs.openCourses,
  CommandIDs.refreshCourses,
  CommandIDs.selectCourse,
  CommandIDs.createCourse,
  CommandIDs.addStudents,
  CommandIDs.addTA,
  CommandIDs.removeFromRoster,
  CommandIDs.makeInvitation,
  CommandIDs.copyInvitationLink,
  CommandIDs.joinCourse,
  CommandIDs.leaveCourse,
  CommandIDs.distribute,
  CommandIDs.collect,
  CommandIDs.returnFeedback,
  CommandIDs.gradeStudent,
  CommandIDs.exportGrades,
  CommandIDs.fetchAssignment,
  CommandIDs.submitAssignment,
  CommandIDs.openFeedback,
];
