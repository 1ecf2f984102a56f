/**
 * A private PostgreSQL cluster for one test file: `initdb` in a temporary directory, the server
 * listening on a unix socket in that directory only (no TCP), no fsync. PostgreSQL refuses to
 * run as root, so under root the server runs as `nobody`, owning the directory. Tests that need
 * it are ignored, with a message saying why, when no PostgreSQL binaries are installed
 * (`/usr/lib/postgresql/<version>/bin`; Debian's `postgresql` package).
 *
 * On request the server also listens on 127.0.0.1 at a free port (`tcp`), and with `tls` it
 * offers TLS there with a certificate for `localhost` and 127.0.0.1, signed by a throwaway CA
 * that `openssl` makes in the cluster's directory.
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

/** For `Deno.test({ ignore })`: true (with a message saying why) when `openssl` is missing. */
export function noOpenssl(): boolean {
  try {
    new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync();
    return false;
  } catch {
    console.warn("ignoring the TLS tests: no `openssl` to make their certificates");
    return true;
  }
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
  /** With `tcp` or `tls`: the port on 127.0.0.1 (the socket's name uses it too). */
  port?: number;
  /** With `tcp` or `tls`: `postgres://lokt@127.0.0.1:PORT/postgres`, the superuser over TCP. */
  tcpUrl?: string;
  /** With `tls`: the throwaway CA's certificate, which the server's certificate chains to. */
  caPath?: string;
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

/** A port on 127.0.0.1 that nobody listens on now (the server takes it a moment later). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * A CA and a server certificate for `localhost` and 127.0.0.1 signed by it, in `tls`; the key
 * is owned by `uid` (the server's user) with mode 0600, as the server demands.
 */
async function makeCertificates(tls: string, uid: number | undefined): Promise<void> {
  Deno.mkdirSync(tls);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    `${tls}/ca.key`,
    "-out",
    `${tls}/ca.pem`,
    "-days",
    "2",
    "-subj",
    "/CN=lokt test CA",
  ]);
  await run("openssl", [
    "req",
    ...ec,
    "-keyout",
    `${tls}/server.key`,
    "-out",
    `${tls}/server.csr`,
    "-subj",
    "/CN=localhost",
  ]);
  Deno.writeTextFileSync(
    `${tls}/server.ext`,
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n" +
      "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    `${tls}/server.csr`,
    "-CA",
    `${tls}/ca.pem`,
    "-CAkey",
    `${tls}/ca.key`,
    "-set_serial",
    "1",
    "-days",
    "2",
    "-extfile",
    `${tls}/server.ext`,
    "-out",
    `${tls}/server.pem`,
  ]);
  Deno.chmodSync(`${tls}/server.key`, 0o600);
  if (uid !== undefined) Deno.chownSync(`${tls}/server.key`, uid, null);
  for (const file of ["ca.pem", "server.pem"]) Deno.chmodSync(`${tls}/${file}`, 0o644);
}

/** What to start besides the socket. */
export interface ClusterOptions {
  /** Also listen on 127.0.0.1 at a free port, without TLS (unless `tls`). */
  tcp?: boolean;
  /** Also listen on 127.0.0.1 at a free port, with `ssl=on` (see the module's description). */
  tls?: boolean;
}

/** Starts a cluster; stop it with `await using` or {@link Cluster.stop}. */
export async function startCluster(clusterOptions: ClusterOptions = {}): Promise<Cluster> {
  const bin = PG_BIN;
  if (bin === undefined) throw new Error("no PostgreSQL binaries");
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "lokt-pg-" }));
  const data = `${dir}/data`;
  const asUser = Deno.uid() === 0 ? "nobody" : undefined;
  const uid = asUser === undefined ? undefined : uidOf(asUser);
  if (uid !== undefined) Deno.chownSync(dir, uid, null);
  const tcp = clusterOptions.tcp === true || clusterOptions.tls === true;
  const tls = clusterOptions.tls === true ? `${dir}/tls` : undefined;
  // Made while initdb runs, so that TLS costs the cluster no more time than the slower of them.
  const certificates = tls === undefined ? undefined : makeCertificates(tls, uid);
  certificates?.catch(() => {}); // awaited below; no unhandled rejection if initdb fails first
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
  await certificates;
  // The password role must authenticate; everyone else is trusted on the private socket (and
  // on 127.0.0.1, with or without TLS: the client's sslmode decides).
  const hba = `local all ${PASSWORD_ROLE.user} scram-sha-256\\nlocal all all trust\\n` +
    (tcp ? "host all all 127.0.0.1/32 trust\\n" : "");
  await run("sh", ["-c", `printf '${hba}' > ${data}/pg_hba.conf`], asUser);
  const port = tcp ? freePort() : undefined;
  const options = `-c listen_addresses='${tcp ? "127.0.0.1" : ""}' ` +
    `-c unix_socket_directories='${dir}' -c fsync=off -c full_page_writes=off ` +
    `-c max_connections=60` + (port === undefined ? "" : ` -c port=${port}`) +
    (tls === undefined ? "" : ` -c ssl=on -c ssl_cert_file='${tls}/server.pem' ` +
      `-c ssl_key_file='${tls}/server.key'`);
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
      "-p",
      String(port ?? 5432),
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
    `@/${o.database ?? "postgres"}?host=${encodeURIComponent(dir)}` +
    (port === undefined ? "" : `&port=${port}`);
  return {
    dir,
    url: urlFor("lokt"),
    urlFor,
    port,
    tcpUrl: port === undefined ? undefined : `postgres://lokt@127.0.0.1:${port}/postgres`,
    caPath: tls === undefined ? undefined : `${tls}/ca.pem`,
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
