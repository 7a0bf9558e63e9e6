/**
 * HTML from a tagged template that escapes every interpolation. A value is inserted as markup
 * only when it is already `Html`, i.e. was itself built by `html` — there is no other way to
 * mark text safe, so user data cannot become markup by accident.
 */

/** Markup built by `html`; anything else interpolated is text. */
export class Html {
  constructor(private readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/** What may appear in `${…}`: text and numbers are escaped; false, null and undefined render nothing. */
export type Interpolation =
  | Html
  | string
  | number
  | false
  | null
  | undefined
  | readonly Interpolation[];

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text made safe for element content and quoted attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let markup = strings[0]!;
  for (let i = 0; i < values.length; i++) markup += render(values[i]) + strings[i + 1]!;
  return new Html(markup);
}
