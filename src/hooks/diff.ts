/** A unified line diff of two small texts (settings files), for `--dry-run`. Pure. */

type Op = { kind: " " | "-" | "+"; line: string; a: number; b: number };

function lines(text: string): string[] {
  if (text === "") return [];
  const parts = text.split("\n");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** The edit script by longest common subsequence (quadratic: fine for files of some KB). */
function script(a: string[], b: string[]): Op[] {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const lcs = new Uint32Array(rows * cols);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * cols + j] = a[i] === b[j]
        ? lcs[(i + 1) * cols + j + 1] + 1
        : Math.max(lcs[(i + 1) * cols + j], lcs[i * cols + j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i], a: i++, b: j++ });
    } else if (
      j < b.length && (i >= a.length || lcs[i * cols + j + 1] > lcs[(i + 1) * cols + j])
    ) {
      ops.push({ kind: "+", line: b[j], a: i, b: j++ });
    } else {
      ops.push({ kind: "-", line: a[i], a: i++, b: j });
    }
  }
  return ops;
}

/**
 * `--- a/PATH`, `+++ b/PATH` and hunks with three lines of context; an empty string when the
 * texts are equal. A missing file is the empty text.
 */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  if (before === after) return "";
  const ops = script(lines(before), lines(after));
  const changed = ops.map((op, k) => op.kind !== " " ? k : -1).filter((k) => k >= 0);
  const out = [
    `--- ${before === "" ? "/dev/null" : `a/${path}`}`,
    `+++ ${after === "" ? "/dev/null" : `b/${path}`}`,
  ];
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k] - context);
    let end = changed[k];
    while (k < changed.length && changed[k] <= end + 2 * context) end = changed[k++];
    end = Math.min(ops.length - 1, end + context);
    const hunk = ops.slice(start, end + 1);
    const aLines = hunk.filter((op) => op.kind !== "+").length;
    const bLines = hunk.filter((op) => op.kind !== "-").length;
    const aStart = aLines === 0 ? hunk[0].a : hunk[0].a + 1;
    const bStart = bLines === 0 ? hunk[0].b : hunk[0].b + 1;
    out.push(`@@ -${aStart},${aLines} +${bStart},${bLines} @@`);
    for (const op of hunk) out.push(`${op.kind}${op.line}`);
  }
  return out.join("\n") + "\n";
}
