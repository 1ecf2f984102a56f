/** Reading a child process's output line by line, as it comes, with a deadline. */

/** Reads lines from a stream as they come. */
export class LineReader {
  #buffer = "";
  #reader: ReadableStreamDefaultReader<string>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line, or an error once `deadline` (epoch ms) passes. */
  async next(deadline: number): Promise<string> {
    for (;;) {
      const nl = this.#buffer.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        return line;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no line before the deadline; got ${this.#buffer}`)),
          Math.max(0, deadline - Date.now()),
        );
      });
      try {
        const chunk = await Promise.race([this.#reader.read(), timeout]);
        if (chunk.done) throw new Error(`stream ended; got ${this.#buffer}`);
        this.#buffer += chunk.value;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Stops reading (the reader goes away, as `| head -1` does). */
  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}
