/**
 * The one place that knows which backend is in use. Selection, first match wins:
 * `LOKT_BACKEND` (`files`, or a `postgres://` / `postgresql://` URL); else `backend` in the
 * repository's top-level `lokt.jsonc`; else files. A shared backend also needs a namespace:
 * `LOKT_NAMESPACE`, else `namespace` in `lokt.jsonc`, else the repository's `origin` remote
 * normalized to host and path (read from git's config file; git is never spawned). The
 * PostgreSQL backend, and its client, are loaded only when it is chosen.
 *
 * @module
 */

import type { Backend, BackendInfo } from "./backend.ts";
import type { Inspection, InspectOptions } from "./postgres/inspect.ts";
import { openFiles } from "./files/mod.ts";
import { maskPassword } from "./postgres/url.ts";
import type { Actor } from "../audit/event.ts";
import { loadProjectConfig, type ProjectConfig, readTextIfExists } from "../config/project.ts";
import { ConfigError, UsageError } from "../errors.ts";
import type { ProcessProbe } from "../identity/process.ts";
import { lazy } from "../lazy.ts";
import { configPath, findRoot, gitCommonDir } from "../root.ts";

/** Which backend was chosen, and where from; `info` is what `status` and `doctor` show. */
export type BackendChoice =
  | { kind: "files"; info: BackendInfo }
  | { kind: "postgres"; url: string; namespace: string; info: BackendInfo };

/** What a choice reads: the environment, the directory it is made in, and files. */
export interface ChoiceInputs {
  env: (name: string) => string | undefined;
  cwd: string;
  /** Reads a text file; undefined when it does not exist (default: from disk). */
  readText?: (path: string) => string | undefined;
}

/** The longest namespace accepted. */
export const MAX_NAMESPACE_LENGTH = 200;

/** A value of `LOKT_BACKEND` or `backend`, read; undefined when it names no backend. Pure. */
export function parseBackendValue(
  value: string,
): { kind: "files" } | { kind: "postgres"; url: string } | undefined {
  const text = value.trim();
  if (text === "files") return { kind: "files" };
  if (/^postgres(ql)?:\/\//i.test(text)) return { kind: "postgres", url: text };
  return undefined;
}

const BACKEND_HINT = "use `files`, or a URL such as postgres://USER@HOST:5432/DATABASE " +
  "(keep the password in PGPASSWORD)";

const NAMESPACE_HINT = "a namespace names the repository on the shared database, e.g. " +
  `acme/web: no spaces, at most ${MAX_NAMESPACE_LENGTH} characters`;

/** A problem with a namespace, or undefined when it is usable. Pure. */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace === "") return "it is empty";
  if (namespace.length > MAX_NAMESPACE_LENGTH) {
    return `it is longer than ${MAX_NAMESPACE_LENGTH} characters`;
  }
  if (/[\s\p{Cc}]/u.test(namespace)) return "it contains spaces or control characters";
  return undefined;
}

/**
 * A remote's URL as a namespace: host and path, without scheme, user, port or `.git`, the host
 * in lower case (`git@github.com:Acme/web.git` and `https://github.com/Acme/web` are both
 * `github.com/Acme/web`). Undefined for a remote without a host (a local path, `file://`). Pure.
 */
export function normalizeRemote(remote: string): string | undefined {
  const text = remote.trim();
  let host: string;
  let path: string;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined;
    }
    if (url.protocol === "file:") return undefined;
    host = url.hostname;
    path = url.pathname;
  } else {
    // scp-like syntax: [user@]host:path, with no slash before the colon.
    const scp = /^(?:[^@/]+@)?([^:/]+):(.+)$/.exec(text);
    if (scp === null) return undefined;
    host = scp[1];
    path = scp[2];
  }
  host = host.toLowerCase().replace(/^\[|\]$/g, "");
  path = path.replace(/^[/~]+/, "").replace(/\/+$/, "").replace(/\.git$/, "").replace(/\/+$/, "");
  if (host === "" || path === "") return undefined;
  return `${host}/${path}`;
}

/** The first `url` of `[remote "origin"]` in the text of a git config file. Pure. */
export function originUrl(gitConfig: string): string | undefined {
  let inOrigin = false;
  for (const raw of gitConfig.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (section !== null) {
      inOrigin = section[1].toLowerCase() === "remote" && section[2] === "origin";
      continue;
    }
    if (!inOrigin) continue;
    const entry = /^url\s*=\s*(.*)$/i.exec(line);
    if (entry === null) continue;
    const value = entry[1];
    const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(value);
    return quoted !== null ? quoted[1].replace(/\\(.)/g, "$1") : value.replace(/\s[#;].*$/, "");
  }
  return undefined;
}

function configValue(config: ProjectConfig, key: "backend" | "namespace"): string | undefined {
  if (config.kind === "absent") return undefined;
  if (config.kind === "invalid") throw config.error;
  const value = config.data[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new ConfigError(config.path, `"${key}" must be a string`);
  }
  return value;
}

function chooseNamespace(
  inputs: ChoiceInputs,
  config: ProjectConfig,
  read: (path: string) => string | undefined,
): { namespace: string; source: string } {
  const fromEnv = inputs.env("LOKT_NAMESPACE");
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    const problem = namespaceProblem(fromEnv.trim());
    if (problem !== undefined) {
      throw new UsageError(`LOKT_NAMESPACE is not usable: ${problem}`, NAMESPACE_HINT);
    }
    return { namespace: fromEnv.trim(), source: "LOKT_NAMESPACE" };
  }
  const fromConfig = configValue(config, "namespace");
  if (fromConfig !== undefined) {
    const problem = namespaceProblem(fromConfig.trim());
    if (problem !== undefined) {
      throw new ConfigError(
        config.path,
        `"namespace" is not usable: ${problem}`,
        undefined,
        NAMESPACE_HINT,
      );
    }
    return { namespace: fromConfig.trim(), source: config.path };
  }
  const common = gitCommonDir(inputs.env, inputs.cwd);
  const gitConfig = common === undefined ? undefined : read(`${common}/config`);
  const remote = gitConfig === undefined ? undefined : originUrl(gitConfig);
  const normalized = remote === undefined ? undefined : normalizeRemote(remote);
  if (normalized !== undefined) {
    return { namespace: normalized, source: `origin remote ${maskPassword(remote!)}` };
  }
  throw new UsageError(
    "a shared backend needs a namespace, and none is set" +
      (remote === undefined ? "" : ` (the origin remote ${maskPassword(remote)} has no host)`),
    'set LOKT_NAMESPACE (e.g. acme/web), or "namespace" in lokt.jsonc, or give the ' +
      "repository an origin remote (git remote add origin URL)",
  );
}

/**
 * Which kind of backend the environment or `lokt.jsonc` chooses, and where the choice came from
 * (the namespace is not looked for). Throws what `chooseBackend` throws for a bad value.
 */
export function selectedBackend(inputs: ChoiceInputs): {
  kind: "files" | "postgres";
  source: string;
  /** The URL with its password masked, for PostgreSQL. */
  location?: string;
} {
  const config = loadProjectConfig(configPath(inputs.cwd), inputs.readText ?? readTextIfExists);
  const { chosen, source } = selection(inputs, config);
  return chosen.kind === "files"
    ? { kind: "files", source }
    : { kind: "postgres", source, location: maskPassword(chosen.url) };
}

function selection(
  inputs: ChoiceInputs,
  config: ProjectConfig,
): { chosen: { kind: "files" } | { kind: "postgres"; url: string }; source: string } {
  const fromEnv = inputs.env("LOKT_BACKEND");
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    const parsed = parseBackendValue(fromEnv);
    if (parsed === undefined) {
      throw new UsageError(
        `LOKT_BACKEND=${maskPassword(fromEnv.trim())} names no backend lokt knows`,
        BACKEND_HINT,
      );
    }
    return { chosen: parsed, source: "LOKT_BACKEND" };
  }
  const fromConfig = configValue(config, "backend");
  if (fromConfig === undefined) return { chosen: { kind: "files" }, source: "default" };
  const parsed = parseBackendValue(fromConfig);
  if (parsed === undefined) {
    throw new ConfigError(
      config.path,
      `"backend" is ${JSON.stringify(maskPassword(fromConfig))}, which names no backend`,
      undefined,
      BACKEND_HINT,
    );
  }
  return { chosen: parsed, source: config.path };
}

/**
 * Decides which backend to use for a process in `inputs.cwd`, without opening it. Throws a
 * {@link UsageError} for a `LOKT_BACKEND` or `LOKT_NAMESPACE` lokt cannot use or a missing
 * namespace, a {@link ConfigError} for a `lokt.jsonc` that cannot be read or names neither.
 */
export function chooseBackend(inputs: ChoiceInputs): BackendChoice {
  const read = inputs.readText ?? readTextIfExists;
  const config = loadProjectConfig(configPath(inputs.cwd), read);
  const { chosen, source } = selection(inputs, config);
  if (chosen.kind === "files") {
    const root = findRoot(inputs.env, inputs.cwd).path;
    return { kind: "files", info: { kind: "files", location: root, source } };
  }
  const { namespace, source: namespaceSource } = chooseNamespace(inputs, config, read);
  return {
    kind: "postgres",
    url: chosen.url,
    namespace,
    info: {
      kind: "postgres",
      location: maskPassword(chosen.url),
      namespace,
      source,
      namespaceSource,
    },
  };
}

/** How long connecting to a lock database may take. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** What opening the chosen backend needs from the world. */
export interface OpenBackendOptions {
  probe: ProcessProbe;
  /** Who acts, as written to the audit log. */
  actor: Actor;
  env: (name: string) => string | undefined;
  /** Where a failure to write the file backend's audit log is reported, once. */
  warn?: (message: string) => void;
  /** The database's connect timeout (default 5 s). */
  connectTimeoutMs?: number;
}

/**
 * Opens the backend `choice` names. The PostgreSQL backend is imported only here, when it is
 * chosen, so that the file backend's start-up does not load its client. Throws what opening
 * throws (for PostgreSQL: a malformed URL, an unreachable or refusing server, exit 1).
 */
export async function openBackend(
  choice: BackendChoice,
  options: OpenBackendOptions,
): Promise<Backend> {
  switch (choice.kind) {
    case "files":
      return openFiles({
        root: choice.info.location,
        probe: options.probe,
        actor: options.actor,
        warn: options.warn,
        source: choice.info.source,
      });
    case "postgres": {
      const { openPostgres }: typeof import("./postgres/mod.ts") = await import(
        lazy("./postgres/mod.ts")
      );
      return await openPostgres(choice.url, {
        namespace: choice.namespace,
        probe: options.probe,
        actor: options.actor,
        env: options.env,
        connectTimeoutMs: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        source: choice.info.source,
        namespaceSource: choice.info.namespaceSource,
      });
    }
  }
}

/**
 * Reads the health of the lock database `choice` names, for `lokt doctor` (read-only). The
 * PostgreSQL backend is imported only here and in {@link openBackend}.
 */
export async function inspectChosenDatabase(
  choice: Extract<BackendChoice, { kind: "postgres" }>,
  options: InspectOptions,
): Promise<Inspection> {
  const { inspectDatabase }: typeof import("./postgres/mod.ts") = await import(
    lazy("./postgres/mod.ts")
  );
  return await inspectDatabase(choice.url, options);
}
