/**
 * TLS against a real private cluster that offers it on 127.0.0.1 with a certificate from a
 * throwaway CA: `require` and `prefer` encrypt and verify the certificate against `sslrootcert`;
 * an untrusted certificate, a server without TLS and an unreadable `sslrootcert` are clear
 * connection faults (exit 1); `disable` stays plain.
 */

import { assert, assertEquals, assertMatch, assertRejects } from "../../helpers/assert.ts";
import { noOpenssl, noPostgres, startCluster } from "../../helpers/postgres.ts";
import {
  connect,
  ConnectionError,
  connectProblem,
  type Sql,
} from "../../../src/backends/postgres/client.ts";
import { parseDatabaseUrl } from "../../../src/backends/postgres/url.ts";
import { BackendUnavailableError } from "../../../src/backends/postgres/errors.ts";

const settingsOf = (url: string) => parseDatabaseUrl(url, () => undefined);

/** Whether the server says this session is encrypted. */
async function encrypted(sql: Sql): Promise<boolean> {
  const [row] = await sql`select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
  return row.ssl as boolean;
}

/** Connects to `url`, asks whether the session is encrypted, and closes. */
async function encryptedAt(url: string): Promise<boolean> {
  const sql = await connect(settingsOf(url), { connectTimeoutMs: 5_000 });
  try {
    return await encrypted(sql);
  } finally {
    await sql.end();
  }
}

/** The error of connecting to `url`, which must be a {@link BackendUnavailableError}. */
function refusal(url: string): Promise<BackendUnavailableError> {
  return assertRejects(
    connect(settingsOf(url), { connectTimeoutMs: 5_000 }),
    BackendUnavailableError,
  );
}

Deno.test({ name: "TLS to PostgreSQL", ignore: noPostgres() || noOpenssl() }, async (t) => {
  await using cluster = await startCluster({ tls: true });
  const rootcert = `sslrootcert=${encodeURIComponent(cluster.caPath!)}`;

  await t.step("sslmode=require with the CA in sslrootcert connects encrypted", async () => {
    assert(await encryptedAt(`${cluster.tcpUrl}?sslmode=require&${rootcert}`));
  });

  await t.step(
    "verify-full and verify-ca connect by either name the certificate holds",
    async () => {
      const byName = cluster.tcpUrl!.replace("127.0.0.1", "localhost");
      assert(await encryptedAt(`${byName}?sslmode=verify-full&${rootcert}`));
      assert(await encryptedAt(`${cluster.tcpUrl}?sslmode=verify-ca&${rootcert}`));
    },
  );

  await t.step("sslmode=prefer encrypts when the server offers TLS", async () => {
    assert(await encryptedAt(`${cluster.tcpUrl}?sslmode=prefer&${rootcert}`));
  });

  await t.step("sslmode=disable over TCP stays plain", async () => {
    assertEquals(await encryptedAt(`${cluster.tcpUrl}?sslmode=disable`), false);
  });

  await t.step("over the unix socket TLS is not used, whatever sslmode says", async () => {
    assertEquals(await encryptedAt(`${cluster.url}&sslmode=require`), false);
  });

  await t.step(
    "without sslrootcert the certificate is not trusted: a clear exit-1 error",
    async () => {
      for (const mode of ["require", "prefer"]) {
        const error = await refusal(`${cluster.tcpUrl}?sslmode=${mode}`);
        assertEquals(error.code, "io");
        assertMatch(
          error.problem,
          /^the server's certificate is not trusted \(.*UnknownIssuer\); name its CA with /,
        );
        assert(error.problem.endsWith("with sslrootcert="), error.problem);
        assert(!error.message.includes("    at "), error.message);
      }
    },
  );

  await t.step("a CA that did not sign the certificate is refused, naming it", async () => {
    const other = `${cluster.dir}/tls/server.pem`; // a certificate, but not the CA's
    const error = await refusal(
      `${cluster.tcpUrl}?sslmode=require&sslrootcert=${encodeURIComponent(other)}`,
    );
    assert(error.problem.includes(`not trusted by sslrootcert=${other}`), error.problem);
  });

  await t.step("a missing sslrootcert file is a clear error naming its path", async () => {
    const missing = `${cluster.dir}/no-such-ca.pem`;
    const error = await refusal(
      `${cluster.tcpUrl}?sslmode=require&sslrootcert=${encodeURIComponent(missing)}`,
    );
    assertEquals(error.code, "io");
    assert(
      error.problem.includes(`cannot read sslrootcert ${missing}: no such file`),
      error.problem,
    );
  });
});

Deno.test({ name: "TLS asked of a server without it", ignore: noPostgres() }, async (t) => {
  await using cluster = await startCluster({ tcp: true });

  await t.step("sslmode=require fails clearly", async () => {
    const error = await refusal(`${cluster.tcpUrl}?sslmode=require`);
    assertEquals(error.code, "io");
    assert(
      error.problem.includes(
        `the server at 127.0.0.1:${cluster.port} does not accept TLS (sslmode=require)`,
      ),
      error.problem,
    );
  });

  await t.step("sslmode=prefer connects without it", async () => {
    assertEquals(await encryptedAt(`${cluster.tcpUrl}?sslmode=prefer`), false);
  });
});

Deno.test("a certificate for another name, or expired, is told apart from an untrusted one", () => {
  const settings = settingsOf("postgres://lokt@db.internal/locks?sslmode=require");
  const problem = (message: string) =>
    connectProblem(new ConnectionError("ECERTIFICATE", message), settings);
  assertEquals(
    problem("invalid peer certificate: NotValidForName"),
    `the server's certificate does not name "db.internal" (invalid peer certificate: ` +
      "NotValidForName); connect by a name its certificate holds",
  );
  assertEquals(
    problem("invalid peer certificate: Expired"),
    "the server's certificate is refused (invalid peer certificate: Expired)",
  );
  assertEquals(
    problem("invalid peer certificate: UnknownIssuer"),
    "the server's certificate is not trusted (invalid peer certificate: UnknownIssuer); name its " +
      "CA with sslrootcert=",
  );
});
