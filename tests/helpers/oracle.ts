/**
 * An independent PostgreSQL client for tests: npm `postgres`, not lokt's own, so that what a test
 * reads or does beside lokt does not depend on the client under test.
 */

import postgres from "npm:postgres@3.4.7";
import type { Cluster } from "./postgres.ts";

/** A client of `cluster`'s database over its unix socket, with up to `max` connections. */
export function oracle(cluster: Cluster, max = 1): postgres.Sql {
  return postgres({
    path: `${cluster.dir}/.s.PGSQL.5432`,
    user: "lokt",
    database: "postgres",
    max,
    fetch_types: false,
    onnotice: () => {},
  });
}
