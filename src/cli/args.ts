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

/** `parseArgs` in strict mode; its errors (unknown option, missing value) become UsageErrors. */
export function parse(argv: string[], options: Options, allowPositionals = false): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
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
  if (!choices.includes(v as T)) throw new UsageError(`--${name}: expected one of ${choices.join(', ')}, got '${String(v)}'`);
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
