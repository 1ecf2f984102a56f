/** Quoting words for POSIX shells (sh, bash, dash, zsh, ksh). Pure. */

const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes any text as one shell word: inside single quotes nothing is special, so the only thing to
 * spell out is the single quote itself, which closes the quotes, adds an escaped `'` and reopens
 * them. Works for every byte but NUL, which no shell word can hold.
 */
export function shQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Quotes a word only when it needs it: `build` stays `build`, `a b` becomes `'a b'`. */
export function shellWord(word: string): string {
  return PLAIN_WORD.test(word) ? word : shQuote(word);
}
