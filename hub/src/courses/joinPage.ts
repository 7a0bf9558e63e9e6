/**
 * The page an invitation link opens: signed in, the user sees which course the code joins and
 * joins with a POST (the XSRF middleware checks its token; a GET never joins, so a link or an
 * image elsewhere cannot enrol anyone). Joined, they land on /hub/home with a message.
 */
import express from 'express';
import { authenticate } from '../auth/authenticate.ts';
import type { Hub } from '../hub.ts';
import { html } from '../pages/html.ts';
import { sendPage } from '../pages/layout.ts';
import { buildPageRouter, loginUrl, type PageDef } from '../pages/page.ts';
import type { CoursesService } from './service.ts';

const JOIN = '/hub/courses/join';

const codeOf = (value: unknown) =>
  typeof value === 'string' && value.length > 0 && value.length <= 200 ? value : undefined;

const notWorking = html`<div class="card"><h1>This invitation does not work</h1>
  <div class="error" role="alert">It does not exist, was replaced, has expired, or its course has ended. Ask your teacher for a new one.</div>
  <a class="button" href="/hub/home">Home</a></div>`;

function joinPage(courses: CoursesService): PageDef {
  return {
    path: JOIN,
    access: 'user',
    async render({ req }) {
      const code = codeOf(req.query.code);
      const found = code ? await courses.peek(code) : undefined;
      if (!code || !found || found.archived)
        return { title: 'Course invitation', body: notWorking };
      return {
        title: 'Join a course',
        script: 'forms',
        body: html`<div class="card"><h1>Join a course</h1>
          <p>You are invited to <strong id="course-title">${found.title}</strong>${found.term && html` (${found.term})`} as a student.</p>
          <p class="muted">Its teacher and TAs will see what you submit; other students never do. Released assignments are copied into your workspace under courses/${found.slug}/.</p>
          <form method="post" action="${JOIN}"><input type="hidden" name="_xsrf"><input type="hidden" name="code" value="${code}">
          <button type="submit" id="join">Join</button> <a class="button secondary" href="/hub/home">Not now</a></form></div>`,
      };
    },
  };
}

export function joinPageRoutes(hub: Hub, courses: CoursesService): express.Router {
  const router = express.Router();
  router.use(buildPageRouter(hub, [joinPage(courses)]));
  router.post(JOIN, async (req, res, next) => {
    try {
      const caller = await authenticate(hub, req);
      const code = codeOf(req.body?.code);
      if (!caller) {
        res.redirect(303, loginUrl(`${JOIN}?code=${encodeURIComponent(code ?? '')}`));
        return;
      }
      const course = code
        ? await courses
            .redeem({ userId: caller.user.id, admin: false, address: req.ip ?? null }, code)
            .catch(() => undefined)
        : undefined;
      if (!course) {
        await sendPage(res, { title: 'Course invitation', body: notWorking }, 404);
        return;
      }
      res.redirect(303, `/hub/home?joined=${encodeURIComponent(course.slug)}`);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
