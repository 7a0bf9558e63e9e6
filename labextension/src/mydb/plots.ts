/**
 * Quick plots of a result as Vega-Lite v5 specifications, drawn by JupyterLab's own
 * Vega-Lite renderer (@jupyterlab/vega5-extension): scatter, histogram, and a sky plot of
 * RA/Dec in the Mollweide or Aitoff projection. The projections are computed here (Vega-Lite
 * has no equal-area whole-sky projection of its own), so the sky plot is a scatter of
 * projected points over a graticule.
 */
import { type IQueryResult, numberOf } from './result.js';

export type PlotKind = 'scatter' | 'histogram' | 'sky';
export type SkyProjection = 'mollweide' | 'aitoff';

export interface IPlotRequest {
  kind: PlotKind;
  /** Column names: x (and y) for scatter, x for histogram, RA and Dec for the sky. */
  x: string;
  y?: string;
  projection?: SkyProjection;
  /** At most this many points are drawn (an even sample of the rows). */
  maxPoints: number;
  bins?: number;
  /** Drawing width in pixels (Vega-Lite's `container` when not given). */
  width?: number;
}

export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const RAD = Math.PI / 180;

/** Mollweide: equal-area; θ solves 2θ + sin 2θ = π sin φ (Newton's method). */
export function mollweide(lon: number, lat: number): [number, number] {
  let theta = lat;
  if (Math.abs(Math.abs(lat) - Math.PI / 2) > 1e-9) {
    const target = Math.PI * Math.sin(lat);
    for (let i = 0; i < 50; i++) {
      const step = (2 * theta + Math.sin(2 * theta) - target) / (2 + 2 * Math.cos(2 * theta));
      theta -= step;
      if (Math.abs(step) < 1e-12) {
        break;
      }
    }
  }
  return [((2 * Math.SQRT2) / Math.PI) * lon * Math.cos(theta), Math.SQRT2 * Math.sin(theta)];
}

/** Aitoff: the azimuthal equidistant hemisphere stretched twice in longitude. */
export function aitoff(lon: number, lat: number): [number, number] {
  const alpha = Math.acos(Math.cos(lat) * Math.cos(lon / 2));
  const sinc = alpha === 0 ? 1 : Math.sin(alpha) / alpha;
  return [(2 * Math.cos(lat) * Math.sin(lon / 2)) / sinc, Math.sin(lat) / sinc];
}

/**
 * A sky position in degrees on the chosen projection, centred on RA 0 with RA growing to
 * the left (east on the left, as the sky is seen from inside).
 */
export function projectSky(
  raDeg: number,
  decDeg: number,
  projection: SkyProjection,
): [number, number] {
  let ra = raDeg % 360;
  if (ra > 180) {
    ra -= 360;
  } else if (ra <= -180) {
    ra += 360;
  }
  const f = projection === 'aitoff' ? aitoff : mollweide;
  return f(-ra * RAD, decDeg * RAD);
}

/** The columns that hold RA and Dec, by their usual names. */
export function skyColumns(result: IQueryResult): { ra: string; dec: string } | null {
  const find = (re: RegExp) => result.columns.find((c) => re.test(c.name))?.name;
  const ra = find(/^(ra|raj2000|ra_?deg|ra2000|_?ra_icrs|alpha)$/i);
  const dec = find(/^(dec|decl|dej2000|dec_?deg|de2000|_?de_icrs|delta)$/i);
  return ra && dec ? { ra, dec } : null;
}

/** Row indexes of an even sample of at most `max` rows. */
export function sampleRows(rowCount: number, max: number): number[] {
  const step = Math.max(1, Math.ceil(rowCount / Math.max(1, max)));
  const rows: number[] = [];
  for (let r = 0; r < rowCount; r += step) {
    rows.push(r);
  }
  return rows;
}

function columnIndex(result: IQueryResult, name: string): number {
  const i = result.columns.findIndex((c) => c.name === name);
  if (i < 0) {
    throw new Error(`The result has no column "${name}".`);
  }
  return i;
}

interface IGraticulePoint {
  x: number;
  y: number;
  line: string;
  /** Drawing order along the line (Vega-Lite sorts lines by x otherwise). */
  order: number;
}

/** Lines of RA every 30° and Dec every 30°, and the outline, as projected points. */
function graticule(projection: SkyProjection): IGraticulePoint[] {
  const points: IGraticulePoint[] = [];
  const add = (line: string, ra: number, dec: number) => {
    const [x, y] = projectSky(ra, dec, projection);
    points.push({ x, y, line, order: points.length });
  };
  for (const ra of [-179.999, -150, -120, -90, -60, -30, 0, 30, 60, 90, 120, 150, 179.999]) {
    for (let dec = -90; dec <= 90; dec += 5) {
      add(`ra${ra}`, ra, dec);
    }
  }
  for (const dec of [-60, -30, 0, 30, 60]) {
    for (let ra = -179.999; ra <= 180; ra += 5) {
      add(`dec${dec}`, Math.min(ra, 179.999), dec);
    }
  }
  return points;
}

/** The Vega-Lite specification of a plot of `result`. */
export function plotSpec(result: IQueryResult, request: IPlotRequest): Record<string, unknown> {
  const rows = sampleRows(result.rowCount, request.maxPoints);
  const sampled = rows.length < result.rowCount;
  const subtitle = sampled
    ? `${rows.length.toLocaleString()} of ${result.rowCount.toLocaleString()} rows`
    : `${result.rowCount.toLocaleString()} rows`;
  const base = {
    $schema: SCHEMA,
    width: request.width ?? 'container',
    height: 320,
    autosize: { type: 'fit' },
  };
  const xi = columnIndex(result, request.x);
  const x = result.columns[xi]!;

  if (request.kind === 'histogram') {
    const values = rows.map((r) => ({ v: numberOf(x.get(r)) })).filter((d) => Number.isFinite(d.v));
    return {
      ...base,
      title: { text: `Histogram of ${x.name}`, subtitle },
      data: { values },
      mark: 'bar',
      encoding: {
        x: { field: 'v', bin: { maxbins: request.bins ?? 40 }, title: x.name },
        y: { aggregate: 'count', title: 'rows' },
      },
    };
  }

  const y = result.columns[columnIndex(result, request.y ?? '')]!;
  if (request.kind === 'scatter') {
    const values = rows
      .map((r) => ({ x: numberOf(x.get(r)), y: numberOf(y.get(r)) }))
      .filter((d) => Number.isFinite(d.x) && Number.isFinite(d.y));
    return {
      ...base,
      title: { text: `${y.name} against ${x.name}`, subtitle },
      data: { values },
      mark: { type: 'point', filled: true, size: 8, opacity: 0.6 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: x.name, scale: { zero: false } },
        y: { field: 'y', type: 'quantitative', title: y.name, scale: { zero: false } },
      },
    };
  }

  const projection = request.projection ?? 'mollweide';
  const stars = rows
    .map((r) => [numberOf(x.get(r)), numberOf(y.get(r))] as const)
    .filter(([ra, dec]) => Number.isFinite(ra) && Number.isFinite(dec))
    .map(([ra, dec]) => {
      const [px, py] = projectSky(ra, dec, projection);
      return { x: px, y: py, ra, dec };
    });
  const extent = projection === 'aitoff' ? [Math.PI, Math.PI / 2] : [2 * Math.SQRT2, Math.SQRT2];
  const axis = { axis: null, scale: { domain: [-extent[0]!, extent[0]!] } };
  const yAxis = { axis: null, scale: { domain: [-extent[1]!, extent[1]!] } };
  return {
    ...base,
    height: 300,
    title: {
      text: `${x.name} / ${y.name}, ${projection === 'aitoff' ? 'Aitoff' : 'Mollweide'} projection`,
      subtitle: `${subtitle}; RA 0 at the centre, growing to the left`,
    },
    layer: [
      {
        data: { values: graticule(projection) },
        mark: { type: 'line', strokeWidth: 0.5, color: '#999' },
        encoding: {
          x: { field: 'x', type: 'quantitative', ...axis },
          y: { field: 'y', type: 'quantitative', ...yAxis },
          detail: { field: 'line' },
          order: { field: 'order' },
        },
      },
      {
        data: { values: stars },
        mark: { type: 'circle', size: 6, opacity: 0.7 },
        encoding: {
          x: { field: 'x', type: 'quantitative', ...axis },
          y: { field: 'y', type: 'quantitative', ...yAxis },
          tooltip: [
            { field: 'ra', title: x.name },
            { field: 'dec', title: y.name },
          ],
        },
      },
    ],
  };
}
