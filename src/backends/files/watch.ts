/**
 * Wake-ups for one name on the file backend: file-system events under the lock root that touch
 * the name's lock file, freeze file, slot directory or queue directory. One recursive watch of
 * the root, so that a slot or queue directory created after the watch began is seen too. When
 * events cannot be watched (no inotify instance left), every wait runs to its timeout: the
 * waiter then polls.
 */

import { Alarm } from "../../timers.ts";
import type { Watch } from "../backend.ts";
import {
  ensureLayout,
  freezePath,
  type Layout,
  layoutOf,
  lockPath,
  queueDir,
  slotDir,
} from "../../locks/layout.ts";

/** The paths (as events name them) whose change is a change of `name`. Pure. */
export function namePaths(layout: Layout, name: string): { files: string[]; dirs: string[] } {
  return {
    files: [lockPath(layout, name), freezePath(layout, name)],
    dirs: [slotDir(layout, name), queueDir(layout, name)],
  };
}

/** Does a file event on `path` concern the name whose paths are `paths`? Pure. */
export function concerns(paths: { files: string[]; dirs: string[] }, path: string): boolean {
  return paths.files.includes(path) ||
    paths.dirs.some((dir) => path === dir || path.startsWith(`${dir}/`));
}

/** Starts counting the changes of `name` under `layout`'s root (created if missing). */
export function watchName(layout: Layout, name: string): Watch {
  ensureLayout(layout);
  // Events name the root's physical path (macOS: /private/tmp for /tmp).
  const real = Deno.realPathSync(layout.root);
  const paths = namePaths(layout, name);
  const realPaths = namePaths(layoutOf(real), name);
  return new FileWatch(layout.root, (path) => concerns(paths, path) || concerns(realPaths, path));
}

class FileWatch implements Watch {
  #changed = false;
  #wake?: () => void;
  readonly #alarm = new Alarm(() => this.#wake?.());
  #watcher?: Deno.FsWatcher;

  constructor(root: string, relevant: (path: string) => boolean) {
    try {
      this.#watcher = Deno.watchFs(root, { recursive: true });
    } catch {
      return; // no watcher: the caller's timeouts make it poll
    }
    const watcher = this.#watcher;
    (async () => {
      for await (const event of watcher) {
        if (event.paths.some(relevant)) this.#ring();
      }
    })().catch(() => {}).finally(() => {
      // A watch that ends by itself may have missed a change: say so once, then poll.
      if (this.#watcher === watcher) {
        this.#watcher = undefined;
        this.#ring();
      }
    });
  }

  #ring(): void {
    this.#changed = true;
    this.#wake?.();
  }

  changed(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#changed) {
      this.#changed = false;
      return Promise.resolve(true);
    }
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        this.#alarm.clear();
        signal?.removeEventListener("abort", done);
        this.#wake = undefined;
        const changed = this.#changed;
        this.#changed = false;
        resolve(changed);
      };
      this.#alarm.set(timeoutMs);
      this.#wake = done;
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  [Symbol.dispose](): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    try {
      watcher?.close();
    } catch {
      // closed already
    }
  }
}
