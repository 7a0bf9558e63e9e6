/** Pure placement for a compute domain of Docker hosts. */

export interface PlacementDecision {
  /** Chosen host name. */
  host: string;
  /** Cursor to pass to the next call (round-robin among equally loaded hosts). */
  cursor: number;
}

/**
 * Choose the least-loaded host: the one with the fewest managed servers in `load` (a host
 * missing from `load` is unreachable and never chosen). Among equally loaded hosts the first
 * one at or after `cursor` in `hosts` order wins, wrapping around, so ties rotate.
 * Returns null when no host is available.
 */
export function chooseHost(
  hosts: readonly string[],
  load: ReadonlyMap<string, number>,
  cursor: number,
): PlacementDecision | null {
  let best: { index: number; count: number; distance: number } | null = null;
  hosts.forEach((host, index) => {
    const count = load.get(host);
    if (count === undefined) return;
    const distance = (((index - cursor) % hosts.length) + hosts.length) % hosts.length;
    if (best === null || count < best.count || (count === best.count && distance < best.distance)) {
      best = { index, count, distance };
    }
  });
  if (best === null) return null;
  const chosen: { index: number } = best;
  return { host: hosts[chosen.index]!, cursor: (chosen.index + 1) % hosts.length };
}
