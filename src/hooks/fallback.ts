/** The answer to a hook run that could not decide. Pure. */

/** JSON that tells the user why the command runs as typed (`systemMessage`, read by both harnesses). */
export function fallbackJson(message: string): string {
  return JSON.stringify({ systemMessage: message });
}
