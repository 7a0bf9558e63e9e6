/**
 * The dialogs every panel's commands use: ask for a text, pick one of a list, confirm a
 * change. Cancelling any of them throws `Cancelled`, which `run` (the wrapper of a command's
 * action) ends quietly; any other failure it shows in an error dialog.
 */
import { Dialog, InputDialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { messageOf } from './api.js';

/** The user cancelled a dialog: stop quietly (this is the user's choice, not a failure). */
export class Cancelled extends Error {}

/**
 * Run a command's action, showing any failure in a dialog titled `title` (what it says is
 * `message(e)`); a cancelled dialog ends it without one.
 */
export async function run(
  title: string,
  action: () => Promise<unknown>,
  message: (e: unknown) => string = messageOf,
): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (e instanceof Cancelled) {
      return;
    }
    await showErrorMessage(title, message(e));
  }
}

/** A line of text (`text` proposed); throws `Cancelled` if the user cancels. */
export async function ask(title: string, label: string, text = ''): Promise<string> {
  const r = await InputDialog.getText({ title, label, text });
  if (!r.button.accept || r.value === null) {
    throw new Cancelled();
  }
  return r.value;
}

/**
 * The value of the item the user picks by its label. No item is a failure saying
 * `emptyMessage`; a single item is taken without asking unless `alwaysAsk`.
 */
export async function pick<T>(
  title: string,
  items: { label: string; value: T }[],
  emptyMessage: string,
  { alwaysAsk = false }: { alwaysAsk?: boolean } = {},
): Promise<T> {
  if (items.length === 0) {
    throw new Error(emptyMessage);
  }
  if (items.length === 1 && !alwaysAsk) {
    return items[0]!.value;
  }
  const r = await InputDialog.getItem({ title, items: items.map((i) => i.label) });
  const chosen = items.find((i) => i.label === r.value);
  if (!r.button.accept || !chosen) {
    throw new Cancelled();
  }
  return chosen.value;
}

/**
 * A warning button labelled `label` beside Cancel (or `cancelLabel`); throws `Cancelled`
 * unless the user accepts.
 */
export async function confirm(
  title: string,
  body: string,
  label: string,
  cancelLabel?: string,
): Promise<void> {
  const r = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton({ label: cancelLabel }), Dialog.warnButton({ label })],
  });
  if (!r.button.accept) {
    throw new Cancelled();
  }
}
