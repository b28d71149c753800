/**
 * The commands' progress bar: cli-progress drawing on the command's stderr when it is a
 * terminal (`io.isTTY`), nothing otherwise (JSON lines and logs stay clean).
 */
import cliProgress from 'cli-progress';
import type { CliIO } from './args.js';

/** A progress bar with a running metric (e.g. the meta-loss, or a stage's name) and cli-progress's ETA. */
export interface Progress {
  update(done: number, metric: number | string): void;
  stop(): void;
}

/**
 * A bar over `total` steps labelled `metricName` (e.g. `'meta-loss'`), starting at `start`; a no-op
 * when stderr is not a terminal. `label` names the phase in front of the bar (e.g. `'decoding
 * images_background'`, `'evaluating'`), for commands with several.
 */
export function progressBar(io: CliIO, total: number, metricName: string, start = 0, label = ''): Progress {
  if (io.isTTY !== true) return { update: () => {}, stop: () => {} };
  // cli-progress writes through readline's cursor helpers, which need only `write`.
  const stream = Object.assign(Object.create(null) as object, {
    isTTY: true,
    columns: (io.stderr as { columns?: number }).columns ?? 100,
    write: (s: string) => io.stderr.write(s),
    on: () => stream,
    removeListener: () => stream,
  }) as unknown as NodeJS.WritableStream;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label ? `${label} ` : ''}[{bar}] {value}/{total}${metricName ? `  ${metricName} {metric}` : ''}  ETA {eta_formatted}`,
      barCompleteChar: '#',
      barIncompleteChar: '-',
      barsize: 30,
      hideCursor: false,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.legacy,
  );
  bar.start(total, start, { metric: '-' });
  return {
    update: (done, metric) => bar.update(done, { metric: typeof metric === 'string' ? metric : Number.isFinite(metric) ? metric.toFixed(4) : String(metric) }),
    stop: () => bar.stop(),
  };
}
