/**
 * One audit log file held open by descriptor, read line by line from where the last read stopped.
 * A follower keeps the live file open this way, so that it can still read it to its end after
 * the log was rotated, or even pruned.
 */

const decoder = new TextDecoder();

/** A read buffer that {@link LogFile}s share, grown when a line does not fit. */
export interface ReadBuffer {
  /** The bytes read into. */
  bytes: Uint8Array;
}

/** A new {@link ReadBuffer}. */
export function readBuffer(size = 64 * 1024): ReadBuffer {
  return { bytes: new Uint8Array(size) };
}

/** Device and inode: which file a name points to. */
export interface FileId {
  /** Device number. */
  dev: number;
  /** Inode number. */
  ino: number;
}

/** Is `info` (a stat, or another file's id) the file `id`? False for no file. */
export function isFile(
  info: { dev: number; ino: number | null } | undefined,
  id: FileId,
): boolean {
  return info !== undefined && (info.ino ?? 0) === id.ino && info.dev === id.dev;
}

/** An open audit log file and how far it has been read. */
export class LogFile implements FileId {
  /** Device number of the open file. */
  readonly dev: number;
  /** Inode number of the open file. */
  readonly ino: number;
  /** Bytes consumed: everything up to and including the last complete line. */
  offset: number;
  readonly #file: Deno.FsFile;
  readonly #buffer: ReadBuffer;

  private constructor(file: Deno.FsFile, buffer: ReadBuffer) {
    const info = file.statSync();
    this.#file = file;
    this.#buffer = buffer;
    this.dev = info.dev;
    this.ino = info.ino ?? 0;
    this.offset = 0;
  }

  /** Opens `path` for reading from its beginning; undefined if there is no such file. */
  static open(path: string, buffer: ReadBuffer): LogFile | undefined {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    try {
      return new LogFile(file, buffer);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Hands the complete lines after `offset` to `take`, a chunk at a time, and moves `offset`
   * past them. A last line without its newline is still being written and waits, unless the file
   * is `final`: then nothing more will be appended, and a fragment (a writer cut short by a full
   * disk) is a line of its own.
   */
  read(final: boolean, take: (lines: string[]) => void): void {
    for (;;) {
      const buffer = this.#buffer.bytes;
      this.#file.seekSync(this.offset, Deno.SeekMode.Start);
      const n = this.#file.readSync(buffer) ?? 0;
      if (n === 0) return;
      const chunk = buffer.subarray(0, n);
      const end = chunk.lastIndexOf(0x0a);
      if (end >= 0) {
        take(decoder.decode(chunk.subarray(0, end)).split("\n"));
        this.offset += end + 1;
      } else if (n === buffer.length) {
        this.#buffer.bytes = new Uint8Array(2 * buffer.length); // a line longer than the buffer
      } else {
        if (final) {
          take([decoder.decode(chunk)]);
          this.offset += n;
        }
        return;
      }
    }
  }

  /**
   * Whether no writer is appending right now: writers append under a shared kernel lock, so the
   * exclusive one is free. Once `audit.log` names another file, a free lock means that this file
   * is complete (see `AuditWriter`). Never waits.
   */
  quiet(): boolean {
    if (!this.#file.tryLockSync(true)) return false;
    this.#file.unlockSync();
    return true;
  }

  /** Closes the descriptor. */
  close(): void {
    this.#file.close();
  }
}
