/**
 * Runs inside `unshare -m`: mounts a tmpfs of the given size at the given directory, then answers
 * one JSON request per line on stdin (see `TmpfsNamespace` in helpers.ts) until stdin closes.
 *
 *   deno run -A tmpfs_server.ts DIR SIZE_KB
 */

import { lokt } from "../helpers/cli.ts";

const [dir, sizeKb] = Deno.args;
const encoder = new TextEncoder();

function reply(value: Record<string, unknown>): void {
  const bytes = encoder.encode(JSON.stringify(value) + "\n");
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

const mount = await new Deno.Command("mount", {
  args: ["-t", "tmpfs", "-o", `size=${sizeKb}k,mode=0755`, "tmpfs", dir],
  stdout: "null",
  stderr: "piped",
}).output();
if (!mount.success) {
  reply({ ready: false, failure: new TextDecoder().decode(mount.stderr).trim() });
  Deno.exit(1);
}
reply({ ready: true });

const filler = `${dir}/filler`;

/** Writes to the filler until the file system refuses: whole pages, then single bytes. */
function fill(): number {
  const file = Deno.openSync(filler, { write: true, create: true, append: true });
  let total = 0;
  for (const size of [4096, 1]) {
    const chunk = new Uint8Array(size);
    for (;;) {
      let n: number;
      try {
        n = file.writeSync(chunk);
      } catch {
        break; // ENOSPC
      }
      total += Math.max(n, 0);
      if (n < size) break;
    }
  }
  file.close();
  return total;
}

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buffer = "";
for await (const chunk of lines) {
  buffer += chunk;
  let at: number;
  while ((at = buffer.indexOf("\n")) >= 0) {
    const request = JSON.parse(buffer.slice(0, at));
    buffer = buffer.slice(at + 1);
    try {
      switch (request.op) {
        case "lokt":
          reply({ ...(await lokt(request.args, { env: request.env })) });
          break;
        case "fill":
          reply({ bytes: fill() });
          break;
        case "free":
          Deno.removeSync(filler);
          reply({});
          break;
        case "read":
          try {
            reply({ text: Deno.readTextFileSync(request.path) });
          } catch (error) {
            if (!(error instanceof Deno.errors.NotFound)) throw error;
            reply({});
          }
          break;
        case "write":
          Deno.writeTextFileSync(request.path, request.text);
          reply({});
          break;
        case "list":
          reply({ names: [...Deno.readDirSync(request.path)].map((e) => e.name).sort() });
          break;
        default:
          reply({ failure: `unknown request ${request.op}` });
      }
    } catch (error) {
      reply({ failure: String(error) });
    }
  }
}
