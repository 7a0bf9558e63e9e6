/**
 * When a queued job is expected to start (docs/jobs.md, "Estimated start"): the domain's slots
 * free as its running jobs reach the typical run time of the domain's recent jobs (or end any
 * moment once past it, and at their time limit at the latest); each job ahead in the fair
 * order takes the next free slot for the typical time. Per-user caps are not modelled, as
 * `queue_position` does not model them. Pure: the numbers come from store.ts's `domainLoad`.
 */
import type { DomainLoad } from './store.ts';

/** The expected start of the job at `position` (1 = next) in the domain's order, or null. */
export type Estimate = (position: number) => Date | null;

export function estimateStarts(load: DomainLoad, slots: number, now: Date): Estimate {
  const t0 = now.getTime();
  const typical = load.typicalSeconds === null ? null : load.typicalSeconds * 1000;
  // When each running job is expected to end; unknown (null) without a typical run time.
  const ends = load.running
    .map(({ startedAt, timeLimitSeconds }) => {
      const limit = startedAt.getTime() + timeLimitSeconds * 1000;
      if (typical === null) return null;
      return Math.max(t0, Math.min(limit, startedAt.getTime() + typical));
    })
    .sort((a, b) => (a ?? Number.POSITIVE_INFINITY) - (b ?? Number.POSITIVE_INFINITY));
  // More running than slots (the limit was lowered): the first ends free no slot.
  const free: (number | null)[] = [
    ...Array.from({ length: Math.max(0, slots - ends.length) }, () => t0),
    ...ends.slice(Math.max(0, ends.length - slots)),
  ];
  const starts: (number | null)[] = [];
  const upTo = (position: number) => {
    while (starts.length < position && free.length > 0) {
      // The earliest free slot (null, unknown, sorts last) takes the next job.
      free.sort((a, b) => (a ?? Number.POSITIVE_INFINITY) - (b ?? Number.POSITIVE_INFINITY));
      const at = free.shift()!;
      starts.push(at);
      free.push(at === null || typical === null ? null : at + typical);
    }
  };
  return (position) => {
    if (position < 1 || slots < 1) return null;
    upTo(position);
    const at = starts[position - 1];
    return at === undefined || at === null ? null : new Date(at);
  };
}
