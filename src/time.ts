/**
 * UTC timestamps in RFC 3339 form (`2026-11-22T05:26:51.059Z`), formatted with integer arithmetic:
 * a first `Date#toISOString` costs lokt's start-up path a time-zone lookup it does not need.
 */

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** Formats epoch milliseconds as an RFC 3339 UTC timestamp with milliseconds. */
export function formatIso(ms: number): string {
  const total = Math.floor(ms);
  const millis = ((total % 1000) + 1000) % 1000;
  const seconds = (total - millis) / 1000;
  const secOfDay = ((seconds % 86400) + 86400) % 86400;
  const days = (seconds - secOfDay) / 86400;
  // Days since 1970-01-01 to a civil date (proleptic Gregorian), after H. Hinnant.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hh = Math.floor(secOfDay / 3600);
  const mm = Math.floor((secOfDay % 3600) / 60);
  const ss = secOfDay % 60;
  // Years outside 0000-9999 take a sign and six digits, as Date#toISOString writes them, so that
  // every time in Date's range reads back (`Date.parse`) as itself.
  const yyyy = year >= 0 && year <= 9999
    ? pad(year, 4)
    : `${year < 0 ? "-" : "+"}${pad(Math.abs(year), 6)}`;
  return `${yyyy}-${pad(month, 2)}-${pad(day, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}.${
    pad(millis, 3)
  }Z`;
}
