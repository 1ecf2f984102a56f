/** The OS user name from the user database, for when the environment does not say. */

/** The name of this process's user in `/etc/passwd`, or undefined when it cannot be told. */
export function osUserName(): string | undefined {
  try {
    const uid = Deno.uid();
    if (uid === null) return undefined;
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const fields = line.split(":");
      if (fields[2] === String(uid)) return fields[0];
    }
  } catch {
    return undefined;
  }
  return undefined;
}
