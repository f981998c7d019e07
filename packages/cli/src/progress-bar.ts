import { formatCount, formatDuration } from './output.js';

/** One rebuild progress sample as the CLI draws it. */
export interface ProgressSample {
  position: number;
  head: number;
  events: number;
  /** Events per second; 0 when not known yet. */
  rate: number;
}

export const etaSeconds = (s: ProgressSample): number =>
  s.rate > 0 ? Math.max(0, s.head - s.position) / s.rate : Number.NaN;

const fraction = (s: ProgressSample): number => (s.head > 0 ? Math.min(1, Math.max(0, s.position / s.head)) : 0);

/**
 * `[██████░░░░░░]  52%  520,000/1,000,000  41,200 ev/s  ETA 12s`, fitted to `columns`. The bar
 * gets whatever width the numbers leave, so it never wraps (a wrapped line breaks `\r` redraws).
 */
export const renderProgressBar = (s: ProgressSample, columns = 80): string => {
  const pct = `${String(Math.floor(fraction(s) * 100)).padStart(3)}%`;
  const tail = `${pct}  ${formatCount(s.position)}/${formatCount(s.head)}  ${s.rate > 0 ? `${formatCount(s.rate)} ev/s` : '-- ev/s'}  ETA ${formatDuration(etaSeconds(s))}`;
  const width = Math.max(10, Math.min(40, columns - tail.length - 4));
  const filled = Math.round(fraction(s) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${tail}`;
};

/** The same facts as a log line, for pipes and CI logs (one line per update, no bar). */
export const progressLine = (s: ProgressSample): string =>
  `rebuild: position ${s.position}/${s.head} (${Math.floor(fraction(s) * 100)}%), ${formatCount(s.events)} events, ${s.rate > 0 ? `${formatCount(s.rate)} ev/s` : 'rate unknown'}, ETA ${formatDuration(etaSeconds(s))}`;
