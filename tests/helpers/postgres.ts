/**
 * A private PostgreSQL cluster for one test file: `initdb` in a temporary directory, the server
 * listening on a unix socket in that directory only (no TCP), no fsync. PostgreSQL refuses to
 * run as root, so under root the server runs as `nobody`, owning the directory. Tests that need
 * it are ignored, with a message saying why, when no PostgreSQL binaries are installed
 * (`/usr/lib/postgresql/<version>/bin`; Debian's `postgresql` package).
 */

/** The directory of the newest installed PostgreSQL's binaries, or undefined. */
export function findPostgresBin(): string | undefined {
  const base = "/usr/lib/postgresql";
  let versions: number[];
  try {
    versions = [...Deno.readDirSync(base)].map((e) => Number(e.name)).filter(Number.isFinite);
  } catch {
    return undefined;
  }
  for (const v of versions.sort((a, b) => b - a)) {
    try {
      Deno.statSync(`${base}/${v}/bin/initdb`);
      return `${base}/${v}/bin`;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** Where the binaries are; undefined skips the PostgreSQL tests. */
export const PG_BIN: string | undefined = Deno.build.os === "linux" ? findPostgresBin() : undefined;

/** For `Deno.test({ ignore })`: true (with a message saying why) when no cluster can start. */
export function noPostgres(): boolean {
  if (PG_BIN !== undefined) return false;
  console.warn(
    "ignoring the PostgreSQL tests: no PostgreSQL binaries under /usr/lib/postgresql/*/bin " +
      "(Linux only; `apt-get install postgresql` provides them)",
  );
  return true;
}

/** The role with a password (scram-sha-256) that the fault tests use. */
export const PASSWORD_ROLE = { user: "lokt_pw", password: "right-password" };

/** A running private cluster. */
export interface Cluster extends AsyncDisposable {
  /** The socket and data directory's parent. */
  dir: string;
  /** A URL for the superuser `lokt` on database `postgres`, over the socket. */
  url: string;
  /** A URL for `user` (and `password`) on `database`. */
  urlFor(user: string, options?: { password?: string; database?: string }): string;
  /** Runs SQL through psql as the superuser; returns its stdout. */
  psql(sql: string): Promise<string>;
  /** `pg_ctl restart -m immediate`: a crash of the server, then recovery. */
  crashRestart(): Promise<void>;
  /** `pg_ctl stop -m immediate`: the server crashes and stays down until {@link Cluster.start}. */
  crash(): Promise<void>;
  /** Starts the server again after {@link Cluster.crash} (it recovers, then accepts); else nothing. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** {@link Cluster.stop} without awaiting, for an `unload` listener (which cannot await). */
  stopSync(): void;
}

async function run(command: string, args: string[], asUser?: string): Promise<string> {
  const argv = asUser ? ["runuser", "-u", asUser, "--", command, ...args] : [command, ...args];
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C" },
  }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(`${argv.join(" ")} failed (${out.code}): ${text.decode(out.stderr)}`);
  }
  return text.decode(out.stdout);
}

function uidOf(user: string): number {
  for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const f = line.split(":");
    if (f[0] === user) return Number(f[2]);
  }
  throw new Error(`no user ${user}`);
}

/** Starts a cluster; stop it with `await using` or {@link Cluster.stop}. */
export async function startCluster(): Promise<Cluster> {
  const bin = PG_BIN;
  if (bin === undefined) throw new Error("no PostgreSQL binaries");
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "lokt-pg-" }));
  const data = `${dir}/data`;
  const asUser = Deno.uid() === 0 ? "nobody" : undefined;
  if (asUser !== undefined) {
    const uid = uidOf(asUser);
    Deno.chownSync(dir, uid, null);
  }
  await run(`${bin}/initdb`, [
    "-D",
    data,
    "--no-sync",
    "-U",
    "lokt",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C",
  ], asUser);
  // The password role must authenticate; everyone else is trusted on the private socket.
  await run("sh", [
    "-c",
    `printf 'local all ${PASSWORD_ROLE.user} scram-sha-256\\nlocal all all trust\\n' > ${data}/pg_hba.conf`,
  ], asUser);
  const options = `-c listen_addresses='' -c unix_socket_directories='${dir}' -c fsync=off ` +
    `-c full_page_writes=off -c max_connections=60`;
  const pgCtl = (args: string[]) =>
    run(
      `${bin}/pg_ctl`,
      ["-D", data, "-l", `${dir}/server.log`, "-w", "-t", "60", ...args],
      asUser,
    );
  await pgCtl(["start", "-o", options]);
  const psql = (sql: string) =>
    run(`${bin}/psql`, [
      "-h",
      dir,
      "-U",
      "lokt",
      "-d",
      "postgres",
      "-X",
      "-q",
      "-At",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      sql,
    ]);
  await psql(
    `create role ${PASSWORD_ROLE.user} login superuser password '${PASSWORD_ROLE.password}'`,
  );
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    try {
      const argv = [`${bin}/pg_ctl`, "-D", data, "-w", "-t", "60", "stop", "-m", "immediate"];
      const full = asUser ? ["runuser", "-u", asUser, "--", ...argv] : argv;
      new Deno.Command(full[0], {
        args: full.slice(1),
        stdout: "null",
        stderr: "null",
        env: { LC_ALL: "C" },
      }).outputSync();
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
  let down = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      if (!down) await pgCtl(["stop", "-m", "immediate"]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
  const urlFor = (user: string, o: { password?: string; database?: string } = {}) =>
    `postgres://${user}${o.password === undefined ? "" : `:${encodeURIComponent(o.password)}`}` +
    `@/${o.database ?? "postgres"}?host=${encodeURIComponent(dir)}`;
  return {
    dir,
    url: urlFor("lokt"),
    urlFor,
    psql,
    crashRestart: async () => {
      await pgCtl(["restart", "-m", "immediate", "-o", options]);
    },
    crash: async () => {
      await pgCtl(["stop", "-m", "immediate"]);
      down = true;
    },
    start: async () => {
      if (!down) return;
      await pgCtl(["start", "-o", options]);
      down = false;
    },
    stop,
    stopSync,
    [Symbol.asyncDispose]: stop,
  };
}
