/**
 * The Python a notebook cell needs to load a result or a table as a pandas DataFrame with
 * the `orrery` package (client/python), which finds the hub and the server's token in the
 * environment.
 */

export type NotebookSource =
  | { kind: 'query'; sql: string; context: string }
  | { kind: 'table'; table: string; context: string };

/** A Python string literal for `text`: triple-quoted when that reads well, else escaped. */
export function pythonString(text: string): string {
  if (!/"""|\\/.test(text) && !text.endsWith('"') && text.includes('\n')) {
    return `"""${text}"""`;
  }
  // A JSON string is a valid Python string literal (\n, \", \\, \uXXXX).
  return JSON.stringify(text);
}

/** A SQL identifier, quoted when it is not a plain lower-case name. */
export function sqlIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** The code of a cell that loads `source` into `df` and shows it. */
export function notebookCode(source: NotebookSource): string {
  const context = source.context === 'mydb' ? '' : `, context=${JSON.stringify(source.context)}`;
  const lines = ['from orrery import mydb', ''];
  if (source.kind === 'query') {
    lines.push(`df = mydb.query(${pythonString(source.sql.trim())}${context})`);
  } else {
    const select = `SELECT * FROM ${sqlIdentifier(source.table)}`;
    if (source.context === 'mydb') {
      lines.push(
        `# Past the quick query's row cap: df = mydb.get_table(${JSON.stringify(source.table)})`,
      );
    }
    lines.push(`df = mydb.query(${JSON.stringify(select)}${context})`);
  }
  lines.push('df');
  return lines.join('\n');
}
