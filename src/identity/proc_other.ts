import type { MachineFacts, ProcessInfo, ProcessProbe } from "./process.ts";

/**
 * The probe for platforms without process facts (Windows): nothing can be judged by process,
 * so locks there are judged by their TTL alone.
 */
export class OpaqueProbe implements ProcessProbe {
  #host?: string;

  machine(): MachineFacts {
    this.#host ??= Deno.hostname();
    return { host: this.#host };
  }

  info(): ProcessInfo | undefined {
    return undefined;
  }

  commandLine(): undefined {
    return undefined;
  }

  ancestors(): ProcessInfo[] {
    return [];
  }

  environmentCarrier(): undefined {
    return undefined;
  }

  exists(): undefined {
    return undefined;
  }
}
