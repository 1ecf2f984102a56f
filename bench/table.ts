/** The one results table: rows from every benchmark, rendered as Markdown. */

/** One measured line of the table. */
export interface Row {
  /** The benchmark, e.g. `start-up` or `hand-off, 16 waiters`. */
  bench: string;
  /** What was measured, e.g. `lokt exists x`. */
  subject: string;
  /** Number of samples behind the figures. */
  n: number;
  /** The median, formatted with its unit. */
  median: string;
  /** The 99th percentile (nearest rank: the maximum when n < 100), or empty. */
  p99: string;
  /** Ratio of the median to the matching flock row, or empty. */
  vsFlock: string;
  /** Ratio of the median to the empty Deno script's row, or empty. */
  vsDeno: string;
  /** The PRODUCT budget this row answers to and whether it is met, or empty. */
  budget: string;
}

/** A benchmark's contribution: its rows and the notes that explain them. */
export interface Section {
  rows: Row[];
  notes: string[];
}

const HEADERS = [
  "benchmark",
  "subject",
  "n",
  "median",
  "p99",
  "vs flock",
  "vs empty deno",
  "budget",
];

function cells(row: Row): string[] {
  return [
    row.bench,
    row.subject,
    String(row.n),
    row.median,
    row.p99,
    row.vsFlock,
    row.vsDeno,
    row.budget,
  ];
}

/** Renders rows as one Markdown table, columns padded so it also reads as plain text. */
export function renderTable(rows: readonly Row[]): string {
  const body = rows.map(cells).map((c) => c.map((v) => v.replaceAll("|", "\\|")));
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(" | ")} |`;
  return [line(HEADERS), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)]
    .join("\n");
}

/** Formats milliseconds: two decimals below 10 ms, one above. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return `${value.toFixed(Math.abs(value) < 10 ? 2 : 1)} ms`;
}

/** Formats a ratio as `1.23x`; empty when either side is missing. */
export function ratio(value: number, base: number | undefined): string {
  if (base === undefined || !Number.isFinite(value) || !(base > 0)) return "";
  return `${(value / base).toFixed(2)}x`;
}

/** `budget text: ok` or `budget text: MISSED`. */
export function verdict(text: string, met: boolean): string {
  return `${text}: ${met ? "ok" : "MISSED"}`;
}
