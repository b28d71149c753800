/**
 * What a study is: the contract between `metagrad study` (src/cli/study.ts) and each analysis in
 * this folder. A study parses its own options, runs (reporting progress), and returns a table, a
 * figure and the findings written from its measurements; the command writes the files.
 *
 * Adding a study: one file here exporting a {@link Study}, and one line in ./index.ts.
 */
import type { ParseArgsConfig } from 'node:util';

/** parseArgs option specs (`{ steps: { type: 'string' } }`). */
export type StudyOptions = NonNullable<ParseArgsConfig['options']>;

/** One column of a {@link Table}. */
export interface Column {
  key: string;
  /** Header text (markdown). */
  label: string;
  /** Significant digits of numeric cells in the markdown table. Default 4. */
  digits?: number;
}

/** A result table: written as JSON (the rows as they are) and as a markdown table. */
export interface Table {
  columns: Column[];
  rows: Record<string, number | string | boolean | null>[];
}

/** What a study can use while it runs. */
export interface StudyContext {
  /** The seed (`--seed`, default 0). */
  seed: number;
  /**
   * Reports progress: `done` of `total` units of work, and what is running. Draws the progress
   * bar on a terminal and prints JSON progress lines with `--json`.
   */
  progress(done: number, total: number, stage?: string): void;
}

/** What a study returns; the command writes it to DIR/<name>.{svg,png,json,md}. */
export interface StudyOutput {
  /** The settings actually used (defaults filled in), recorded in the JSON and markdown. */
  settings: Record<string, unknown>;
  /** The main result table. */
  table: Table;
  /** The figure, a whole SVG document. */
  svg: string;
  /** Markdown paragraphs computed from the measurements (what the figure and table show). */
  findings: string[];
  /** Further measurements for the JSON file (curves, raw statistics). */
  data?: Record<string, unknown>;
}

/** One analysis of `metagrad study`. */
export interface Study {
  /** The name on the command line (`metagrad study <name>`). */
  name: string;
  /** A one-line title (figure and markdown heading). */
  title: string;
  /** One line for the list of studies in the usage text. */
  summary: string;
  /** The study's own options (besides --out, --json, --seed, --device). */
  options: StudyOptions;
  /** Usage lines for its options (`[--draws N]  Monte Carlo draws (default 2000)`). */
  usage: string;
  /** Devices the study can run on (`--device`). Default: cpu only. */
  devices?: readonly ('cpu' | 'cuda')[];
  /**
   * Runs the study. `values` holds the parsed options (strings and booleans as parseArgs gives
   * them; validate with the helpers in ../args.ts, whose UsageErrors become exit code 2).
   * `device`: the `--device` given, if any.
   */
  run(values: Record<string, string | boolean | undefined>, ctx: StudyContext, device: 'cpu' | 'cuda' | undefined): StudyOutput | Promise<StudyOutput>;
}
