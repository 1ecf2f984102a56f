/**
 * Deliberate breaks of the locking protocols, for the negative controls of the race tests
 * (`tests/races/`, `tests/backends/postgres/`): each removes one step whose absence the race
 * harness must detect, so that the harness is shown able to fail. Nothing in lokt switches
 * them on and nothing here reads the environment: like the halt hook (`halt.ts`), only a test's
 * own worker program calls {@link setSabotage}. In lokt each is one check of an empty set.
 *
 * @module
 */

/**
 * `skip-verify`: after taking the kernel lock on the fence file it opened, a process does not
 * check that the path still names that file. `skip-fold`: a reclaim removes a name's fence file
 * without first raising the root's fence floor to its counter. `slots-unlocked`: an attempt on a
 * name with N of 2 or more counts and takes its slots without the name's kernel lock.
 * `skip-name-lock`: the PostgreSQL backend inspects and changes a name without taking the name's
 * advisory lock first.
 */
export type Sabotage = "skip-verify" | "skip-fold" | "slots-unlocked" | "skip-name-lock";

const active = new Set<Sabotage>();

/** True when the test switched `step` off. */
export function sabotaged(step: Sabotage): boolean {
  return active.size > 0 && active.has(step);
}

/** Switches off exactly `steps` (none: the protocol as written). */
export function setSabotage(steps: readonly Sabotage[]): void {
  active.clear();
  for (const step of steps) active.add(step);
}
