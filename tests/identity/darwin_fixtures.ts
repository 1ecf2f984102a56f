/**
 * Fixture output of the commands the macOS probe runs. `lstart` is strftime's `%c` of the start
 * time, so its words depend on the locale `ps` runs in. The C-locale rows are in the form
 * `ps -o pid=,ppid=,stat=,lstart=,args=` prints under `LC_ALL=C TZ=UTC`; the localized values are
 * what strftime's `%c` (and the `%a %b %e` order) gives in those locales.
 */

/** `ps -A -o pid=,ppid=,stat=,lstart=,args=` under `LC_ALL=C TZ=UTC`: a terminal, an agent, a zombie. */
export const PS_C = [
  "    1     0 Ss   Sat Nov 21 05:08:38 2026     /sbin/launchd",
  "  412     1 S    Sat Nov 21 05:09:02 2026     /System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal",
  " 4180   412 Ss   Sat Nov 21 09:14:55 2026     login -pf alice",
  " 4182  4180 S    Sat Nov 21 09:14:55 2026     -zsh",
  " 5120  4182 S+   Sat Nov 21 09:30:01 2026     node /opt/homebrew/lib/node_modules/@anthropic-ai/claude-code/cli.js",
  " 5200  5120 Z    Sat Nov 21 09:31:10 2026     (git)",
  " 6001  5120 R+   Thu Dec  3 13:51:52 2026     ",
  "",
].join("\n");

/** `lstart` of Sat Nov 21 05:08:38 2026 UTC in other locales. */
export const LOCALIZED_LSTART: [string, string][] = [
  ["de_DE, %c (glibc)", "Sa 21 Nov 2026 05:08:38 UTC"],
  ["de_DE, the day before the month", "Sa 21 Nov 05:08:38 2026"],
  ["de_DE, %a %b %e: English-looking month, German day", "Sa Nov 21 05:08:38 2026"],
  ["fr_FR, %c (glibc)", "sam. 21 nov. 2026 05:08:38"],
  ["fr_FR, %a %b %e", "sam. nov. 21 05:08:38 2026"],
  ["ja_JP, %c (glibc)", "2026年11月21日 05時08分38秒"],
  ["de_DE, a month that is not English", "Mo 2 Mär 10:00:00 2026"],
];
