/**
 * The SQL of MyDB's spatial functions, installed in the schema `orrery` of the science database
 * (docs/mydb.md, "Spatial functions"). Cone search and cross-match follow the Zones algorithm
 * (Gray, Nieto-Santisteban and Szalay 2006): the sky is cut into declination zones of fixed
 * height, a B-tree on (zone, ra) answers "rows of zone z with ra in [lo, hi]", and a search
 * visits the few zones its circle touches with an ra window widened by 1/cos(dec). The window's
 * wrap-around at ra 0/360 becomes a second range (`ra_ranges`), never duplicated rows.
 *
 * When the q3c extension is installed (in this same schema) and a table has a q3c index, the
 * functions use q3c instead; `method => 'zones' | 'q3c'` forces one. Either way the last test is
 * the same exact great-circle distance, so both give the same rows.
 *
 * Everything runs as the caller (SECURITY INVOKER): a user reaches through these functions only
 * the tables their own role may read. The plpgsql functions fix their search_path, so the
 * helpers they call cannot be replaced by functions of the caller's schema.
 */

/** Zones per degree of declination: zones of 6 arcminutes (docs/mydb.md says why). */
export const ZONES_PER_DEGREE = 10;

/** The largest radius the functions accept, in degrees. */
export const MAX_RADIUS_DEG = 10;

export const SPATIAL_SCHEMA = 'orrery';

const FIXED_PATH = 'SET search_path = pg_catalog, orrery';

/**
 * Helpers that queries inline: plain SQL, IMMUTABLE, no SET clause, and STRICT only when the body
 * is strict too (least/greatest and CASE are not): otherwise PostgreSQL calls them row by row.
 */
const HELPERS = `
CREATE OR REPLACE FUNCTION orrery.zone_of(dec_deg double precision) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pg_catalog.floor((dec_deg + 90) * ${ZONES_PER_DEGREE})::integer;
COMMENT ON FUNCTION orrery.zone_of(double precision) IS
  'The zone of a declination: zones are 6 arcmin high, zone 0 starts at the south pole. A zone index is on (orrery.zone_of(dec), ra).';

CREATE OR REPLACE FUNCTION orrery.zone_height() RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 1.0::double precision / ${ZONES_PER_DEGREE};
COMMENT ON FUNCTION orrery.zone_height() IS '[deg] Height of a zone (6 arcmin)';

CREATE OR REPLACE FUNCTION orrery.angular_distance(
    ra1 double precision, dec1 double precision, ra2 double precision, dec2 double precision)
  RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 2 * pg_catalog.degrees(pg_catalog.asin(least(1::double precision, pg_catalog.sqrt(
    pg_catalog.power(pg_catalog.sin(pg_catalog.radians(dec2 - dec1) / 2), 2)
    + pg_catalog.cos(pg_catalog.radians(dec1)) * pg_catalog.cos(pg_catalog.radians(dec2))
      * pg_catalog.power(pg_catalog.sin(pg_catalog.radians(ra2 - ra1) / 2), 2)))));
COMMENT ON FUNCTION orrery.angular_distance(double precision, double precision, double precision, double precision) IS
  '[deg] Great-circle distance between two positions in degrees (haversine formula)';

CREATE OR REPLACE FUNCTION orrery.ra_half_width(dec_deg double precision, radius double precision)
  RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN pg_catalog.abs(dec_deg) + radius >= 89.999999 THEN 180::double precision
    ELSE least(180::double precision, pg_catalog.degrees(pg_catalog.asin(least(1::double precision,
      pg_catalog.sin(pg_catalog.radians(radius)) / pg_catalog.cos(pg_catalog.radians(dec_deg))))) * (1 + 1e-9) + 1e-9) END;
COMMENT ON FUNCTION orrery.ra_half_width(double precision, double precision) IS
  '[deg] Half-width in ra of a circle of the given radius centred at dec: radius/cos(dec) as the sphere has it (asin(sin r / cos dec)); 180 when the circle holds a pole';

-- The two ra intervals of a window as scalars (part 0 and part 1), for joins: a set-returning
-- function per outer row costs more than the whole probe (measured: 1 s for 14k rows).
CREATE OR REPLACE FUNCTION orrery.ra_min(ra double precision, half_width double precision, part integer)
  RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN part = 0 THEN
      CASE WHEN half_width >= 180 THEN 0 ELSE greatest(0, ra - half_width) END
    ELSE CASE WHEN ra - half_width < 0 THEN ra - half_width + 360 ELSE 0 END END;
CREATE OR REPLACE FUNCTION orrery.ra_max(ra double precision, half_width double precision, part integer)
  RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN part = 0 THEN
      CASE WHEN half_width >= 180 THEN 360 ELSE least(360, ra + half_width) END
    ELSE CASE WHEN ra - half_width < 0 THEN 360 ELSE ra + half_width - 360 END END;
CREATE OR REPLACE FUNCTION orrery.ra_wraps(ra double precision, half_width double precision)
  RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN half_width < 180 AND (ra - half_width < 0 OR ra + half_width > 360);
COMMENT ON FUNCTION orrery.ra_wraps(double precision, double precision) IS
  'Whether the window ra ± half_width crosses ra 0/360 (then it is two intervals: ra_min/ra_max part 0 and 1)';

CREATE OR REPLACE FUNCTION orrery.ra_ranges(ra double precision, half_width double precision)
  RETURNS TABLE (ra_min double precision, ra_max double precision)
  -- Not STRICT and a plain body: PostgreSQL inlines it into the query only so.
  LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 2
  AS $fn$
    SELECT v.lo, v.hi FROM (VALUES
      (CASE WHEN half_width >= 180 THEN 0 ELSE greatest(0, ra - half_width) END,
       CASE WHEN half_width >= 180 THEN 360 ELSE least(360, ra + half_width) END),
      (CASE WHEN half_width < 180 AND ra - half_width < 0 THEN ra - half_width + 360
            WHEN half_width < 180 AND ra + half_width > 360 THEN 0 ELSE 1 END,
       CASE WHEN half_width < 180 AND ra - half_width < 0 THEN 360
            WHEN half_width < 180 AND ra + half_width > 360 THEN ra + half_width - 360 ELSE 0 END)
    ) AS v (lo, hi) WHERE v.lo <= v.hi
  $fn$;
COMMENT ON FUNCTION orrery.ra_ranges(double precision, double precision) IS
  'The ra intervals [ra_min, ra_max] (degrees) of a window ra ± half_width: one, or two when it wraps around 0/360';
`;

/** What a caller's relation is, and which method serves it. */
const PLUMBING = `
CREATE OR REPLACE FUNCTION orrery.relation_of(row_type regtype) RETURNS regclass
  LANGUAGE plpgsql STABLE ${FIXED_PATH} AS $fn$
DECLARE
  rel regclass;
BEGIN
  SELECT t.typrelid::regclass INTO rel FROM pg_type t WHERE t.oid = row_type AND t.typrelid <> 0;
  IF rel IS NULL THEN
    RAISE EXCEPTION 'pass a row of a table or view, e.g. NULL::catalog_stars.stars (got %)', row_type
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = rel AND a.attname IN ('ra', 'dec')
        AND NOT a.attisdropped) <> 2 THEN
    RAISE EXCEPTION '% has no columns ra and dec (degrees); a view can rename them', rel
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN rel;
END $fn$;

CREATE OR REPLACE FUNCTION orrery.has_q3c_index(rel regclass) RETURNS boolean
  LANGUAGE sql STABLE ${FIXED_PATH}
  RETURN EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = rel
                   AND pg_get_indexdef(x.indexrelid) LIKE '%q3c_ang2ipix%');

CREATE OR REPLACE FUNCTION orrery.has_zone_index(rel regclass) RETURNS boolean
  LANGUAGE sql STABLE ${FIXED_PATH}
  RETURN EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = rel
                   AND pg_get_indexdef(x.indexrelid) LIKE '%zone_of(%dec%), ra)%');

-- With a zone index on the probed table the plan must be index probes in a nested loop; left
-- alone, the planner may merge-join on the zone alone and read every zone whole. Set for the
-- current transaction and put back by the caller once the query has run.
CREATE OR REPLACE FUNCTION orrery.prefer_index_probes(probed regclass) RETURNS text[]
  LANGUAGE plpgsql VOLATILE ${FIXED_PATH} AS $fn$
DECLARE
  before text[] := ARRAY[current_setting('enable_hashjoin'), current_setting('enable_mergejoin')];
BEGIN
  IF orrery.has_zone_index(probed) THEN
    PERFORM set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true);
  END IF;
  RETURN before;
END $fn$;

CREATE OR REPLACE FUNCTION orrery.restore_planner(before text[]) RETURNS void
  LANGUAGE sql VOLATILE ${FIXED_PATH}
  BEGIN ATOMIC
    SELECT set_config('enable_hashjoin', before[1], true), set_config('enable_mergejoin', before[2], true);
  END;

CREATE OR REPLACE FUNCTION orrery.q3c_installed() RETURNS boolean
  LANGUAGE sql STABLE ${FIXED_PATH}
  RETURN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'q3c');
COMMENT ON FUNCTION orrery.q3c_installed() IS 'Whether the q3c extension is installed here (then cone_search and cross_match use it on tables with a q3c index)';

CREATE OR REPLACE FUNCTION orrery.method_for(searched regclass, method text) RETURNS text
  LANGUAGE plpgsql STABLE ${FIXED_PATH} AS $fn$
BEGIN
  IF method = 'zones' THEN RETURN 'zones'; END IF;
  IF method = 'q3c' THEN
    IF NOT orrery.q3c_installed() THEN
      RAISE EXCEPTION 'the q3c extension is not installed in this database; use method => ''zones'''
        USING ERRCODE = 'feature_not_supported';
    END IF;
    RETURN 'q3c';
  END IF;
  IF method = 'auto' THEN
    RETURN CASE WHEN orrery.q3c_installed() AND orrery.has_q3c_index(searched) THEN 'q3c' ELSE 'zones' END;
  END IF;
  RAISE EXCEPTION 'method must be auto, zones or q3c (got %)', method USING ERRCODE = 'invalid_parameter_value';
END $fn$;

CREATE OR REPLACE FUNCTION orrery.check_search(ra_deg double precision, dec_deg double precision, radius double precision)
  RETURNS void LANGUAGE plpgsql IMMUTABLE ${FIXED_PATH} AS $fn$
BEGIN
  IF ra_deg IS NULL OR dec_deg IS NULL OR radius IS NULL OR ra_deg = 'NaN' OR dec_deg = 'NaN' OR radius = 'NaN'
     OR ra_deg IN ('Infinity', '-Infinity') OR radius = 'Infinity' THEN
    RAISE EXCEPTION 'ra, dec and the radius must be numbers' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF dec_deg < -90 OR dec_deg > 90 THEN
    RAISE EXCEPTION 'dec must be within [-90, 90] degrees (got %)', dec_deg USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF radius <= 0 OR radius > ${MAX_RADIUS_DEG} THEN
    RAISE EXCEPTION 'the radius must be within (0, ${MAX_RADIUS_DEG}] degrees (got %)', radius
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
END $fn$;
`;

/** The functions users call. */
const PUBLIC_FUNCTIONS = `
CREATE OR REPLACE FUNCTION orrery.cone_search(
    rows_of anyelement, ra_deg double precision, dec_deg double precision, radius_deg double precision,
    method text DEFAULT 'auto')
  RETURNS SETOF anyelement
  LANGUAGE plpgsql STABLE SECURITY INVOKER ${FIXED_PATH} AS $fn$
DECLARE
  rel regclass := orrery.relation_of(pg_typeof(rows_of));
  centre_ra double precision;
BEGIN
  PERFORM orrery.check_search(ra_deg, dec_deg, radius_deg);
  centre_ra := ra_deg - 360 * floor(ra_deg / 360);
  IF orrery.method_for(rel, method) = 'q3c' THEN
    RETURN QUERY EXECUTE format(
      'SELECT t.* FROM %s t WHERE q3c_radial_query(t.ra, t.dec, $1, $2, $3)
          AND orrery.angular_distance($1, $2, t.ra, t.dec) <= $3', rel)
      USING centre_ra, dec_deg, radius_deg;
  ELSE
    RETURN QUERY EXECUTE format(
      'SELECT t.* FROM generate_series(orrery.zone_of(greatest($2 - $3, -90)),
                                       orrery.zone_of(least($2 + $3, 90))) AS z (zone)
         CROSS JOIN orrery.ra_ranges($1, orrery.ra_half_width($2, $3)) AS w
         JOIN %s t ON orrery.zone_of(t.dec) = z.zone AND t.ra BETWEEN w.ra_min AND w.ra_max
        WHERE t.dec BETWEEN $2 - $3 AND $2 + $3
          AND orrery.angular_distance($1, $2, t.ra, t.dec) <= $3', rel)
      USING centre_ra, dec_deg, radius_deg;
  END IF;
END $fn$;
COMMENT ON FUNCTION orrery.cone_search(anyelement, double precision, double precision, double precision, text) IS
  'Rows of a table (or view) within radius_deg of (ra, dec), all in degrees: SELECT * FROM orrery.cone_search(NULL::catalog_stars.stars, 101.29, -16.72, 0.5). Zones algorithm, or q3c when the table has a q3c index (method => auto|zones|q3c). Tables need columns ra, dec.';

CREATE OR REPLACE FUNCTION orrery.cross_match(
    a_rows anyelement, b_rows anycompatible, radius_deg double precision, method text DEFAULT 'auto')
  RETURNS TABLE (a anyelement, b anycompatible, distance_arcsec double precision)
  -- VOLATILE: it sets planner settings for its own query (and puts them back).
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER ${FIXED_PATH} AS $fn$
DECLARE
  rel_a regclass := orrery.relation_of(pg_typeof(a_rows));
  rel_b regclass := orrery.relation_of(pg_typeof(b_rows));
  outer_rel regclass;
  inner_rel regclass;
  swapped boolean;
  how text;
  pair text;
  planner text[];
BEGIN
  PERFORM orrery.check_search(0, 0, radius_deg);
  -- Probe the larger table once per row of the smaller one: fewer, fuller index probes.
  swapped := (SELECT coalesce(nullif(greatest(c.reltuples, 0), 0), 1000) FROM pg_class c WHERE c.oid = rel_a)
           > (SELECT coalesce(nullif(greatest(c.reltuples, 0), 0), 1000) FROM pg_class c WHERE c.oid = rel_b);
  outer_rel := CASE WHEN swapped THEN rel_b ELSE rel_a END;
  inner_rel := CASE WHEN swapped THEN rel_a ELSE rel_b END;
  pair := CASE WHEN swapped THEN 'i, o.whole' ELSE 'o.whole, i' END;
  -- q3c_join only on request: on wide tables PostgreSQL's estimates for it make a nested loop
  -- over every pair look as cheap as its index, and it may pick that (bench/README.md).
  how := orrery.method_for(inner_rel, CASE WHEN method = 'auto' THEN 'zones' ELSE method END);
  IF how = 'q3c' THEN
    RETURN QUERY EXECUTE format(
      'SELECT %s, orrery.angular_distance(o.ra, o.dec, i.ra, i.dec) * 3600
         FROM %s o JOIN %s i ON q3c_join(o.ra, o.dec, i.ra, i.dec, $1)
        WHERE orrery.angular_distance(o.ra, o.dec, i.ra, i.dec) <= $1', replace(pair, 'o.whole', 'o'), outer_rel, inner_rel)
      USING radius_deg;
  ELSE
    planner := orrery.prefer_index_probes(inner_rel);
    -- The zones a circle of radius r touches: at most floor(2r * zones per degree) + 2.
    -- Step s: zone offset s / 2, ra interval s % 2 (the second only when the window wraps).
    -- Each outer row's zone span and ra half-width are computed once (OFFSET 0 keeps the
    -- subquery whole), not again in every probe's index condition.
    RETURN QUERY EXECUTE format(
      'SELECT %s, orrery.angular_distance(o.ra, o.dec, i.ra, i.dec) * 3600
         FROM (SELECT r AS whole, r.ra, r.dec, orrery.ra_half_width(r.dec, $1) AS hw,
                      orrery.zone_of(greatest(r.dec - $1, -90)) AS zone_min,
                      orrery.zone_of(least(r.dec + $1, 90)) AS zone_max
                 FROM %s r OFFSET 0) o
         CROSS JOIN generate_series(0, %s) AS k (step)
         JOIN %s i ON orrery.zone_of(i.dec) = o.zone_min + k.step / 2
                  AND i.ra BETWEEN orrery.ra_min(o.ra, o.hw, k.step %% 2) AND orrery.ra_max(o.ra, o.hw, k.step %% 2)
        WHERE o.zone_min + k.step / 2 <= o.zone_max
          AND (k.step %% 2 = 0 OR orrery.ra_wraps(o.ra, o.hw))
          AND i.dec BETWEEN o.dec - $1 AND o.dec + $1
          AND orrery.angular_distance(o.ra, o.dec, i.ra, i.dec) <= $1',
      pair, outer_rel, 2 * (floor(2 * radius_deg * ${ZONES_PER_DEGREE})::integer + 2) - 1, inner_rel)
      USING radius_deg;
    PERFORM orrery.restore_planner(planner);
  END IF;
END $fn$;
COMMENT ON FUNCTION orrery.cross_match(anyelement, anycompatible, double precision, text) IS
  'Every pair of rows of two tables within radius_deg of each other, with their distance: SELECT (m.a).name, (m.b).identifier, m.distance_arcsec FROM orrery.cross_match(NULL::catalog_stars.stars, NULL::catalog_ngc.objects, 1.0/60) m. Zones algorithm (method => ''q3c'' uses q3c_join).';

CREATE OR REPLACE FUNCTION orrery.create_zone_index(rel regclass) RETURNS text
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER ${FIXED_PATH} AS $fn$
DECLARE
  name text;
  made text := '';
BEGIN
  PERFORM orrery.relation_of((SELECT c.reltype FROM pg_class c WHERE c.oid = rel)::regtype);
  SELECT c.relname INTO name FROM pg_class c WHERE c.oid = rel;
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (orrery.zone_of(dec), ra)',
                 left(name, 58) || '_zone', rel);
  made := left(name, 58) || '_zone';
  IF orrery.q3c_installed() AND NOT orrery.has_q3c_index(rel) THEN
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (q3c_ang2ipix(ra, dec))',
                   left(name, 58) || '_q3c', rel);
    made := made || ', ' || left(name, 58) || '_q3c';
  END IF;
  EXECUTE format('ANALYZE %s', rel);
  RETURN made;
END $fn$;
COMMENT ON FUNCTION orrery.create_zone_index(regclass) IS
  'Index one of your tables (columns ra, dec in degrees) for cone_search and cross_match: a zone index on (orrery.zone_of(dec), ra), and a q3c index when q3c is installed. Returns the indexes made. SELECT orrery.create_zone_index(''my_table'')';
`;

/** Installed (or refreshed) at every start, one hub at a time; every statement is idempotent. */
export const SPATIAL_SQL = `
SELECT pg_advisory_xact_lock(hashtext('orrery.mydb.spatial'));
CREATE SCHEMA IF NOT EXISTS orrery;
COMMENT ON SCHEMA orrery IS 'Orrery''s functions for every user: cone search and cross-match (docs/mydb.md)';
GRANT USAGE ON SCHEMA orrery TO PUBLIC;
${HELPERS}
${PLUMBING}
${PUBLIC_FUNCTIONS}
`;

/** The functions users are meant to call; the others are plumbing (still callable, harmless). */
export const PUBLIC_FUNCTION_NAMES = [
  'cone_search',
  'cross_match',
  'create_zone_index',
  'angular_distance',
  'zone_of',
  'zone_height',
  'ra_half_width',
  'ra_ranges',
  'q3c_installed',
];
