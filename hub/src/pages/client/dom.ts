/** Small DOM helpers the page scripts share. */

/** The element the page's markup promises; a missing one is a bug in the page, said loudly. */
export function element<T extends Element = HTMLElement>(
  selector: string,
  root: ParentNode = document,
): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

export function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  properties: Partial<HTMLElementTagNameMap[K]> = {},
): HTMLElementTagNameMap[K] {
  return Object.assign(document.createElement(tag), properties);
}

/** Shows a message in the page's `#error` box, or hides the box for an empty message. */
export function showError(message: string): void {
  const box = element('#error');
  box.textContent = message;
  box.hidden = !message;
}
