/** Argument parsing helpers shared by the commands (node:util.parseArgs plus value checks). */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Where a command writes; injected so tests can capture the output. */
export interface CliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** Whether stderr is a terminal (progress bars are drawn only then). */
  isTTY?: boolean;
}

/** A bad command line: the message names the option; the exit code is 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Levenshtein distance (insertions, deletions and substitutions of one character each cost 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate nearest to `word` by {@link editDistance}, if it is near enough to be a typo (at
 * most 2 edits, 1 for words of 3 letters or fewer; a word that begins one candidate only counts too).
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    // On a tie, a candidate that begins with the word wins ('mamlp': mamlpp, not maml).
    if (d < bestD || (d === bestD && c.startsWith(word) && !(best ?? '').startsWith(word))) [best, bestD] = [c, d];
  }
  if (best !== undefined && bestD <= (word.length <= 3 ? 1 : 2)) return best;
  const prefixed = candidates.filter((c) => word.length >= 3 && c.startsWith(word));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** `, did you mean 'X'?` for a near candidate, else ''. */
export function didYouMean(word: string, candidates: readonly string[], quote = (s: string) => `'${s}'`): string {
  const n = nearest(word, candidates);
  return n === undefined ? '' : ` (did you mean ${quote(n)}?)`;
}

/**
 * `parseArgs` in strict mode; its errors become UsageErrors. An unknown option is named with the
 * nearest option this command takes (a typo) and the list of the options it takes.
 */
export function parse(argv: string[], options: Options, allowPositionals = false): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const m = /option '(-{1,2})([^'=]*)/.exec(err.message);
      const name = m?.[2] ?? '';
      const dash = m?.[1] ?? '--';
      const known = Object.keys(options);
      throw new UsageError(`unknown option '${dash}${name}'${didYouMean(name, known, (s) => `--${s}`)}; the options here are ${known.map((k) => `--${k}`).join(', ')}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const m = /argument '([^']*)'/.exec(err.message);
      throw new UsageError(`unexpected argument '${m?.[1] ?? '?'}' (options are written --name value)`);
    }
    throw new UsageError(err.message);
  }
}

export function intOpt(values: Record<string, unknown>, name: string, def: number, min = 1): number {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name}: expected an integer >= ${min}, got '${String(v)}'`);
  }
  return n;
}

export function numOpt(values: Record<string, unknown>, name: string, def: number, positive = true): number {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || (positive && !(n > 0))) {
    throw new UsageError(`--${name}: expected a ${positive ? 'positive ' : ''}number, got '${String(v)}'`);
  }
  return n;
}

export function choiceOpt<T extends string>(values: Record<string, unknown>, name: string, choices: readonly T[], def?: T): T {
  const v = values[name];
  if (v === undefined) {
    if (def === undefined) throw new UsageError(`--${name} is required (one of ${choices.join(', ')})`);
    return def;
  }
  if (!choices.includes(v as T)) throw new UsageError(`--${name}: expected one of ${choices.join(', ')}, got '${String(v)}'${didYouMean(String(v), choices)}`);
  return v as T;
}

export function strOpt(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** `--device`: only cpu is wired into the sinusoid commands. */
export function deviceOpt(values: Record<string, unknown>): 'cpu' {
  const d = choiceOpt(values, 'device', ['cpu', 'cuda'] as const, 'cpu');
  if (d === 'cuda') throw new UsageError("--device: 'cuda' is not supported by the sinusoid commands yet (use cpu)");
  return 'cpu';
}

/** Every value of `--name` in `argv` (`--name v` or `--name=v`), without parsing the rest: for dispatching. */
export function optionValues(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === `--${name}` && i + 1 < argv.length) out.push(argv[i + 1]);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  });
  return out;
}

/** The first value of `--name` in `argv` (see {@link optionValues}). */
export function peekOption(argv: readonly string[], name: string): string | undefined {
  return optionValues(argv, name)[0];
}

/** Writes one JSON object as a line. */
export function jsonLine(io: CliIO, obj: unknown): void {
  io.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** Seconds as `1h02m03s` / `2m03s` / `3s`. */
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s`;
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}
