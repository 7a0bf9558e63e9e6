/**
 * The Course panel: my courses; for the selected one, its staff see the roster, the
 * invitation code and the assignments with their counts, submissions and grades; its students
 * see their assignments with due dates, status, score and feedback. It renders the model and
 * runs commands; it makes no request of its own.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  addIcon,
  closeIcon,
  copyIcon,
  editIcon,
  LabIcon,
  ReactWidget,
  refreshIcon,
  ToolbarButtonComponent,
  UseSignal,
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { CommandIDs, type IAssignment, type ICourse } from '../tokens.js';
import {
  countsText,
  courseLabel,
  formatShort,
  formatWhen,
  isStaff,
  STATUS_LABELS,
  studentStatus,
} from './format.js';
import type { CoursesModel } from './model.js';

const COURSES_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<path d="M12 3 1 9l11 6 9-4.9V17h2V9z"/>' +
  '<path d="M5 13.2v4L12 21l7-3.8v-4L12 17z"/>' +
  '</g></svg>';

export const coursesIcon = new LabIcon({ name: 'orrery:courses', svgstr: COURSES_SVG });

export interface ICoursesPanelOptions {
  model: CoursesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The clock the student statuses (overdue) are read against. */
  now: () => Date;
}

export class CoursesPanel extends ReactWidget {
  constructor(private readonly options: ICoursesPanelOptions) {
    super();
    this.id = 'orrery-courses';
    this.addClass('jp-OrreryGroups');
    this.addClass('jp-OrreryCourses');
    this.title.icon = coursesIcon;
    this.title.caption = options.trans.__('Orrery Courses');
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this.options.model.changed}>
        {() => <CoursesView {...this.options} />}
      </UseSignal>
    );
  }
}

type Exec = (id: CommandIDs, args?: Record<string, string>) => void;

interface IViewProps extends ICoursesPanelOptions {
  exec: Exec;
}

function CoursesView(props: ICoursesPanelOptions): React.ReactElement {
  const { model, commands, trans } = props;
  const exec: Exec = (id, args = {}) => {
    void commands.execute(id, args);
  };
  const course = model.course;
  return (
    <div className="jp-OrreryGroups-body">
      <header className="jp-OrreryGroups-header">
        <h2 className="jp-OrreryGroups-title">{trans.__('Courses')}</h2>
        <ToolbarButtonComponent
          icon={addIcon}
          tooltip={trans.__('Create a course')}
          onClick={() => exec(CommandIDs.createCourse)}
          dataset={{ 'data-testid': 'orrery-create-course' }}
        />
        <ToolbarButtonComponent
          label={trans.__('Join')}
          tooltip={trans.__('Join a course with an invitation code')}
          onClick={() => exec(CommandIDs.joinCourse)}
          dataset={{ 'data-testid': 'orrery-join-course' }}
        />
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip={trans.__('Refresh')}
          enabled={!model.loading}
          onClick={() => exec(CommandIDs.refreshCourses)}
          dataset={{ 'data-testid': 'orrery-refresh-courses' }}
        />
      </header>
      {model.error && (
        <div className="jp-OrreryGroups-error" role="alert">
          {model.error.message}
        </div>
      )}
      {!model.loaded && !model.error && (
        <div className="jp-OrreryGroups-empty">{trans.__('Loading…')}</div>
      )}
      {model.loaded && (
        <section className="jp-OrreryGroups-section" data-section="courses">
          <h3 className="jp-OrreryGroups-sectionTitle">
            {trans.__('My courses')}{' '}
            <span className="jp-OrreryGroups-count">{model.courses.length}</span>
          </h3>
          <ul className="jp-OrreryGroups-list">
            {model.courses.length === 0 && (
              <li className="jp-OrreryGroups-empty">
                {trans.__(
                  'You take or teach no course yet. Create one with +, or join with a code.',
                )}
              </li>
            )}
            {model.courses.map((c) => (
              <CourseRow
                key={c.slug}
                course={c}
                selected={c.slug === course?.slug}
                {...props}
                exec={exec}
              />
            ))}
          </ul>
        </section>
      )}
      {course && isStaff(course) && <StaffView {...props} exec={exec} course={course} />}
      {course && !isStaff(course) && <StudentView {...props} exec={exec} course={course} />}
    </div>
  );
}

function CourseRow(props: IViewProps & { course: ICourse; selected: boolean }): React.ReactElement {
  const { course: c, trans } = props;
  return (
    <li
      className={`jp-OrreryGroups-item jp-OrreryCourses-course${props.selected ? ' jp-mod-selected' : ''}`}
      data-testid="orrery-course"
      data-slug={c.slug}
      data-role={c.role}
    >
      <div className="jp-OrreryGroups-itemMain">
        <button
          type="button"
          className="jp-OrreryVolumes-select"
          onClick={() => void props.model.select(c.slug).catch(() => undefined)}
        >
          <span className="jp-OrreryGroups-name">{courseLabel(c)}</span>
        </button>
        <span className="jp-OrreryGroups-badge jp-OrreryGroups-badge-role">{trans.__(c.role)}</span>
        {c.archived && <span className="jp-OrreryGroups-badge">{trans.__('archived')}</span>}
      </div>
      <div className="jp-OrreryGroups-meta">
        {c.slug} · {trans.__('ends %1', formatWhen(c.ends_at))}
      </div>
    </li>
  );
}

function StaffView(props: IViewProps & { course: ICourse }): React.ReactElement {
  const { model, trans, exec, course } = props;
  const [names, setNames] = React.useState('');
  const slug = { slug: course.slug };
  const teacher = course.role === 'teacher';
  const writable = !course.archived;
  return (
    <>
      <section
        className="jp-OrreryGroups-section"
        data-section="roster"
        data-testid="orrery-course-roster"
      >
        <h3 className="jp-OrreryGroups-sectionTitle">
          {trans.__('Roster')}{' '}
          <span className="jp-OrreryGroups-count">{model.students.length}</span>
        </h3>
        {writable && (
          <div className="jp-OrreryCourses-add">
            <textarea
              className="jp-mod-styled"
              rows={2}
              value={names}
              placeholder={trans.__('user names or e-mails, or select a CSV file and press Add')}
              onChange={(e) => setNames(e.target.value)}
              data-testid="orrery-roster-input"
            />
            <div className="jp-OrreryCourses-buttons">
              <button
                type="button"
                className="jp-mod-styled jp-mod-accept"
                data-testid="orrery-add-students"
                onClick={() => {
                  exec(CommandIDs.addStudents, names.trim() ? { ...slug, names } : slug);
                  setNames('');
                }}
              >
                {trans.__('Add students')}
              </button>
              {teacher && (
                <button
                  type="button"
                  className="jp-mod-styled"
                  data-testid="orrery-add-tas"
                  onClick={() => {
                    exec(CommandIDs.addTA, names.trim() ? { ...slug, names } : slug);
                    setNames('');
                  }}
                >
                  {trans.__('Add TAs')}
                </button>
              )}
            </div>
          </div>
        )}
        <ul className="jp-OrreryGroups-list">
          {model.roster.map((m) => (
            <li
              key={m.name}
              className="jp-OrreryGroups-item"
              data-testid="orrery-roster-member"
              data-name={m.name}
              data-role={m.role}
            >
              <div className="jp-OrreryGroups-itemMain">
                <span className="jp-OrreryGroups-name">{m.name}</span>
                <span className="jp-OrreryGroups-badge jp-OrreryGroups-badge-role">
                  {trans.__(m.role)}
                </span>
                {writable && m.role !== 'teacher' && (teacher || m.role === 'student') && (
                  <span className="jp-OrreryVolumes-actions">
                    <ToolbarButtonComponent
                      icon={closeIcon}
                      tooltip={trans.__('Remove %1 from the course', m.name)}
                      onClick={() => exec(CommandIDs.removeFromRoster, { ...slug, name: m.name })}
                      dataset={{ 'data-testid': 'orrery-remove-member' }}
                    />
                  </span>
                )}
              </div>
            </li>
          ))}
        </ul>
      </section>
      <section className="jp-OrreryGroups-section" data-section="invitation">
        <h3 className="jp-OrreryGroups-sectionTitle">{trans.__('Invitation code')}</h3>
        {model.invitation ? (
          <div className="jp-OrreryCourses-invitation" data-testid="orrery-course-invitation">
            <code data-testid="orrery-invitation-code">{model.invitation.code}</code>
            <ToolbarButtonComponent
              icon={copyIcon}
              tooltip={trans.__('Copy the link')}
              onClick={() => exec(CommandIDs.copyInvitationLink)}
              dataset={{ 'data-testid': 'orrery-copy-invitation' }}
            />
            <div className="jp-OrreryGroups-meta">
              {trans.__(
                'until %1 · a new code replaces this one',
                formatWhen(model.invitation.expires_at),
              )}
            </div>
          </div>
        ) : (
          <div className="jp-OrreryGroups-meta">
            {trans.__('Students who have signed in join with a code or its link.')}
          </div>
        )}
        {writable && (
          <div className="jp-OrreryCourses-buttons">
            <button
              type="button"
              className="jp-mod-styled"
              data-testid="orrery-make-invitation"
              onClick={() => exec(CommandIDs.makeInvitation, slug)}
            >
              {model.invitation ? trans.__('Make a new code') : trans.__('Make a code')}
            </button>
          </div>
        )}
      </section>
      <section className="jp-OrreryGroups-section" data-section="assignments">
        <h3 className="jp-OrreryGroups-sectionTitle">
          {trans.__('Assignments')}{' '}
          <span className="jp-OrreryGroups-count">{model.assignments.length}</span>
        </h3>
        <div className="jp-OrreryCourses-buttons">
          {teacher && writable && (
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept"
              data-testid="orrery-distribute"
              onClick={() => exec(CommandIDs.distribute, slug)}
            >
              {trans.__('Distribute…')}
            </button>
          )}
          <button
            type="button"
            className="jp-mod-styled"
            data-testid="orrery-export-grades"
            onClick={() => exec(CommandIDs.exportGrades, slug)}
          >
            {trans.__('Export grades CSV')}
          </button>
        </div>
        <ul className="jp-OrreryGroups-list">
          {model.assignments.map((a) => (
            <StaffAssignment key={a.name} {...props} assignment={a} />
          ))}
        </ul>
      </section>
    </>
  );
}

function AssignmentHead(props: IViewProps & { assignment: IAssignment }): React.ReactElement {
  const { assignment: a, trans } = props;
  return (
    <>
      <div className="jp-OrreryGroups-itemMain">
        <span className="jp-OrreryGroups-name">{a.title || a.name}</span>
        <span className="jp-OrreryGroups-badge" data-testid="orrery-assignment-mode">
          {a.mode === 'lecture' ? trans.__('read-only') : trans.__('copies')}
        </span>
        {!a.released && <span className="jp-OrreryGroups-badge">{trans.__('not released')}</span>}
      </div>
      <div className="jp-OrreryGroups-meta">
        {a.released
          ? trans.__('released %1', formatWhen(a.release_at))
          : trans.__('releases %1', formatWhen(a.release_at))}
        {a.due_at ? ` · ${trans.__('due %1', formatWhen(a.due_at))}` : ''}
      </div>
    </>
  );
}

function StaffAssignment(
  props: IViewProps & { course: ICourse; assignment: IAssignment },
): React.ReactElement {
  const { model, trans, exec, assignment: a, course } = props;
  const args = { slug: course.slug, assignment: a.name };
  const submissions = model.submissions(a.name);
  return (
    <li
      className="jp-OrreryGroups-item jp-OrreryCourses-assignment"
      data-testid="orrery-assignment"
      data-name={a.name}
      data-mode={a.mode}
      data-distributed={a.counts?.distributed ?? ''}
      data-submitted={a.counts?.submitted ?? ''}
      data-late={a.counts?.late ?? ''}
      data-returned={a.counts?.returned ?? ''}
    >
      <AssignmentHead {...props} />
      <div className="jp-OrreryGroups-meta" data-testid="orrery-assignment-counts">
        {countsText(a)}
      </div>
      {a.released && (
        <div className="jp-OrreryCourses-buttons">
          <button
            type="button"
            className="jp-mod-styled"
            data-testid="orrery-collect"
            onClick={() => exec(CommandIDs.collect, args)}
          >
            {trans.__('Collect')}
          </button>
          {!course.archived && (
            <button
              type="button"
              className="jp-mod-styled"
              data-testid="orrery-return"
              onClick={() => exec(CommandIDs.returnFeedback, args)}
            >
              {trans.__('Return')}
            </button>
          )}
          <button
            type="button"
            className="jp-mod-styled"
            data-testid="orrery-show-submissions"
            onClick={() => void model.loadSubmissions(a.name).catch(() => undefined)}
          >
            {trans.__('Grades')}
          </button>
        </div>
      )}
      {submissions && (
        <table className="jp-OrreryCourses-grades" data-testid="orrery-submissions">
          <thead>
            <tr>
              <th>{trans.__('Student')}</th>
              <th>{trans.__('Submitted')}</th>
              <th>{trans.__('Score')}</th>
              <th aria-label={trans.__('Grade')} />
            </tr>
          </thead>
          <tbody>
            {model.students.map((m) => {
              const s = submissions.find((x) => x.student === m.name);
              const g = model.grade(a.name, m.name);
              return (
                <tr
                  key={m.name}
                  data-testid="orrery-submission"
                  data-student={m.name}
                  data-late={String(!!s?.late)}
                >
                  <td>
                    {m.name}
                    {g?.comment && <div className="jp-OrreryGroups-meta">{g.comment}</div>}
                  </td>
                  <td title={s ? formatWhen(s.submitted_at) : ''}>
                    {s ? formatShort(s.submitted_at) : '—'}
                    {s?.late ? ` ${trans.__('late')}` : ''}
                  </td>
                  <td data-testid="orrery-score">{g?.score ?? ''}</td>
                  <td>
                    {!course.archived && (
                      <ToolbarButtonComponent
                        icon={editIcon}
                        tooltip={trans.__('Score and comment for %1', m.name)}
                        onClick={() => exec(CommandIDs.gradeStudent, { ...args, student: m.name })}
                        dataset={{ 'data-testid': 'orrery-grade' }}
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </li>
  );
}

function StudentView(props: IViewProps & { course: ICourse }): React.ReactElement {
  const { model, trans, exec, course, now } = props;
  const at = now();
  return (
    <section className="jp-OrreryGroups-section" data-section="assignments">
      <h3 className="jp-OrreryGroups-sectionTitle">
        {trans.__('Assignments')}{' '}
        <span className="jp-OrreryGroups-count">{model.assignments.length}</span>
      </h3>
      <ul className="jp-OrreryGroups-list">
        {model.assignments.length === 0 && (
          <li className="jp-OrreryGroups-empty">{trans.__('Nothing has been released yet.')}</li>
        )}
        {model.assignments.map((a) => {
          const status = studentStatus(a, at);
          const mine = a.mine;
          const args = { slug: course.slug, assignment: a.name };
          return (
            <li
              key={a.name}
              className="jp-OrreryGroups-item jp-OrreryCourses-assignment"
              data-testid="orrery-assignment"
              data-name={a.name}
              data-mode={a.mode}
              data-status={status}
            >
              <AssignmentHead {...props} assignment={a} />
              <div className="jp-OrreryGroups-meta" data-testid="orrery-assignment-status">
                {trans.__(STATUS_LABELS[status])}
                {mine?.submitted_at
                  ? ` · ${trans.__('submission %1 of %2', mine.submissions, formatWhen(mine.submitted_at))}`
                  : ''}
                {mine?.score !== null && mine?.score !== undefined
                  ? ` · ${trans.__('score %1', mine.score)}`
                  : ''}
              </div>
              {mine?.comment && <div className="jp-OrreryGroups-meta">{mine.comment}</div>}
              <div className="jp-OrreryCourses-buttons">
                <button
                  type="button"
                  className="jp-mod-styled"
                  data-testid="orrery-fetch"
                  onClick={() => exec(CommandIDs.fetchAssignment, args)}
                >
                  {a.mode === 'lecture' ? trans.__('Open') : trans.__('Fetch')}
                </button>
                {!course.archived && (
                  <button
                    type="button"
                    className="jp-mod-styled jp-mod-accept"
                    data-testid="orrery-submit"
                    onClick={() => exec(CommandIDs.submitAssignment, args)}
                  >
                    {mine?.submitted_at ? trans.__('Submit again') : trans.__('Submit')}
                  </button>
                )}
                {mine?.feedback_path && (
                  <button
                    type="button"
                    className="jp-mod-styled"
                    data-testid="orrery-open-feedback"
                    onClick={() => exec(CommandIDs.openFeedback, args)}
                  >
                    {trans.__('Feedback')}
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      {!course.archived && (
        <div className="jp-OrreryCourses-buttons">
          <button
            type="button"
            className="jp-mod-styled"
            data-testid="orrery-leave-course"
            onClick={() => exec(CommandIDs.leaveCourse, { slug: course.slug })}
          >
            {trans.__('Leave the course')}
          </button>
        </div>
      )}
    </section>
  );
}
