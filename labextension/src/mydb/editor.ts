/**
 * The SQL editor: JupyterLab's own CodeMirror editor (the same factory notebooks use) with
 * PostgreSQL highlighting, completion of the schema browser's table and column names and
 * SQL keywords, Shift-Enter to run and Ctrl-Enter to run as well.
 */
import {
  autocompletion,
  type CompletionContext,
  type CompletionSource,
} from '@codemirror/autocomplete';
import { keywordCompletionSource, PostgreSQL, schemaCompletionSource } from '@codemirror/lang-sql';
import { Prec } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { CodeEditor, CodeEditorWrapper, type IEditorServices } from '@jupyterlab/codeeditor';
import type { MyDBModel } from './model.js';

/** The completion source over the model's current schema, rebuilt when the schema changes. */
function schemaSource(model: MyDBModel): CompletionSource {
  let key = '';
  let source: CompletionSource | null = null;
  const keywords = keywordCompletionSource(PostgreSQL, true);
  return async (context: CompletionContext) => {
    const schema = model.completionSchema();
    const k = JSON.stringify(schema);
    if (k !== key || !source) {
      key = k;
      source = schemaCompletionSource({ schema, dialect: PostgreSQL });
    }
    return (await source(context)) ?? keywords(context);
  };
}

export function createSqlEditor(
  services: IEditorServices,
  model: MyDBModel,
  run: () => void,
): CodeEditorWrapper {
  const editorModel = new CodeEditor.Model({ mimeType: 'text/x-pgsql' });
  editorModel.sharedModel.setSource(model.sql);
  const runKey = () => {
    run();
    return true;
  };
  const wrapper = new CodeEditorWrapper({
    factory: services.factoryService.newInlineEditor,
    model: editorModel,
    editorOptions: {
      config: { lineNumbers: true, lineWrap: false, autoClosingBrackets: true },
      extensions: [
        autocompletion({ override: [schemaSource(model)], activateOnTyping: true }),
        Prec.highest(
          keymap.of([
            { key: 'Shift-Enter', run: runKey },
            { key: 'Mod-Enter', run: runKey },
          ]),
        ),
      ],
    },
  });
  wrapper.addClass('jp-OrreryMyDB-editor');
  editorModel.sharedModel.changed.connect(() => model.setSql(editorModel.sharedModel.getSource()));
  model.sqlChanged.connect((_m, sql) => {
    if (editorModel.sharedModel.getSource() !== sql) {
      editorModel.sharedModel.setSource(sql);
    }
  });
  wrapper.disposed.connect(() => editorModel.dispose());
  return wrapper;
}

/** Put the cursor where PostgreSQL said the error is. */
export function showPosition(wrapper: CodeEditorWrapper, line: number, column: number): void {
  wrapper.editor.setCursorPosition({ line: line - 1, column: column - 1 });
  wrapper.editor.focus();
}
