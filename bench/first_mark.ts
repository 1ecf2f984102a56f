// The floor of bench/phases.ts: an otherwise empty script that reports its first moment the way
// lokt's LOKT_PHASES does.
const encoder = new TextEncoder();
Deno.stderr.writeSync(encoder.encode(`lokt-phase-origin ${performance.timeOrigin}\n`));
Deno.stderr.writeSync(encoder.encode(`lokt-phase ${performance.now().toFixed(3)} main\n`));
Deno.stderr.writeSync(encoder.encode(`lokt-phase ${performance.now().toFixed(3)} exit\n`));
