/**
 * The result grid: Lumino's virtualised DataGrid, which draws only the visible cells on a
 * canvas, over a result read by columns (result.ts). Scrolling 500,000 rows reads about as
 * many cells per frame as fit on the screen.
 */
import {
  BasicKeyHandler,
  BasicMouseHandler,
  BasicSelectionModel,
  DataGrid,
  DataModel,
} from '@lumino/datagrid';
import type { IQueryResult } from './result.js';
import { ResultCells } from './result.js';

class ResultDataModel extends DataModel {
  private readonly cells: ResultCells;

  constructor(result: IQueryResult) {
    super();
    this.cells = new ResultCells(result);
  }

  rowCount(region: DataModel.RowRegion): number {
    return this.cells.rowCount(region);
  }

  columnCount(region: DataModel.ColumnRegion): number {
    return this.cells.columnCount(region);
  }

  data(region: DataModel.CellRegion, row: number, column: number): string {
    return this.cells.data(region, row, column);
  }
}

/** A DataGrid showing one result at a time, with keyboard and mouse selection and copy. */
export class ResultGrid extends DataGrid {
  constructor() {
    super({
      defaultSizes: {
        rowHeight: 22,
        columnWidth: 120,
        rowHeaderWidth: 64,
        columnHeaderHeight: 24,
      },
    });
    this.addClass('jp-OrreryMyDB-grid');
    this.keyHandler = new BasicKeyHandler();
    this.mouseHandler = new BasicMouseHandler();
  }

  setResult(result: IQueryResult | null): void {
    if (!result) {
      this.dataModel = null;
      return;
    }
    const model = new ResultDataModel(result);
    this.dataModel = model;
    this.selectionModel = new BasicSelectionModel({ dataModel: model });
  }
}
