import { assert, assertEquals, assertThrows } from "../../helpers/assert.ts";
import { maskPassword, parseDatabaseUrl } from "../../../src/backends/postgres/url.ts";
import { BackendUnavailableError } from "../../../src/backends/postgres/errors.ts";

const noEnv = () => undefined;

Deno.test("a URL's password is masked wherever it is written", () => {
  assertEquals(
    maskPassword("postgres://lokt:s3cret@db:5432/lokt"),
    "postgres://lokt:***@db:5432/lokt",
  );
  assertEquals(
    maskPassword("postgres://lokt@db/lokt?password=s3cret"),
    "postgres://lokt@db/lokt?password=***",
  );
  assertEquals(maskPassword("postgres://lokt@db/lokt"), "postgres://lokt@db/lokt");
  assertEquals(
    maskPassword("postgres://lokt:p@ss@host:notaport/x"),
    "postgres://lokt:***@host:notaport/x",
  );
});

Deno.test("a URL is read into host, port, socket, database, user and password", () => {
  const tcp = parseDatabaseUrl("postgresql://lokt:pw@db.internal:6543/locks", noEnv);
  assertEquals(
    [tcp.host, tcp.port, tcp.socketPath, tcp.database, tcp.user, tcp.password, tcp.display],
    [
      "db.internal",
      6543,
      undefined,
      "locks",
      "lokt",
      "pw",
      "postgresql://lokt:***@db.internal:6543/locks",
    ],
  );
  const socket = parseDatabaseUrl("postgres://lokt@/locks?host=%2Frun%2Fpg", noEnv);
  assertEquals([socket.host, socket.socketPath, socket.database], [
    "/run/pg",
    "/run/pg/.s.PGSQL.5432",
    "locks",
  ]);
  const fromEnv = parseDatabaseUrl(
    "postgres://lokt@db/locks",
    (k) => k === "PGPASSWORD" ? "env-pw" : undefined,
  );
  assertEquals(fromEnv.password, "env-pw");
});

Deno.test("sslmode and sslrootcert are read; without them there is neither", () => {
  const tls = parseDatabaseUrl(
    "postgres://lokt@db/locks?sslmode=verify-full&sslrootcert=%2Fetc%2Flokt%2Fca%20bundle.pem",
    noEnv,
  );
  assertEquals([tls.sslmode, tls.sslrootcert], ["verify-full", "/etc/lokt/ca bundle.pem"]);
  const plain = parseDatabaseUrl("postgres://lokt@db/locks", noEnv);
  assertEquals([plain.sslmode, plain.sslrootcert], [undefined, undefined]);
});

Deno.test("a malformed URL is a typed error that shows the URL masked and says what is wrong", () => {
  const cases: [string, RegExp][] = [
    ["not a url", /not a URL/],
    ["http://lokt@db/x", /scheme must be postgres/],
    ["postgres://lokt:pw@db:99999/x", /not a URL \(check the host and port/],
    ["postgres://lokt:pw@db/x?port=0", /bad port "0"/],
    ["postgres://lokt:pw@db/x?hots=/tmp", /unknown parameter "hots"/],
    ["postgres://lokt:pw@db/x/y", /bad database name/],
    ["postgres://lokt:pw@db/x?sslmode=requir", /unknown sslmode "requir" \(known: disable, /],
  ];
  for (const [url, problem] of cases) {
    const error = assertThrows(() => parseDatabaseUrl(url, noEnv), BackendUnavailableError);
    assert(problem.test(error.message), `${url}: ${error.message}`);
    assert(!error.message.includes(":pw@"), `${url}: password shown in ${error.message}`);
    assertEquals(error.code, "io");
  }
});
