// Where the dashboard is: the page and its parameters, in the URL's #fragment
// (#/sessions?from=2026-05-01&through=2026-05-30&property=prop_001).

const DEFAULT_PERIOD_DAYS = 30;
const DAY_MS = 86_400_000;

/** "2026-05-01" for a Date, in UTC. */
export function isoDay(moment) {
  return moment.toISOString().slice(0, 10);
}

export function addDays(day, days) {
  return isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS));
}

export function validDay(text) {
  return (
    typeof text === "string" && /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text))
  );
}

/** The current location: path ("sessions/abc") and query parameters of the fragment. */
export function currentLocation() {
  const fragment = window.location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = fragment.split("?", 2);
  return { path: path || "overview", params: new URLSearchParams(query) };
}

/** The period of the fragment, or the last DEFAULT_PERIOD_DAYS days through today. */
export function periodOf(params) {
  let through = params.get("through");
  let from = params.get("from");
  if (!validDay(through)) {
    through = isoDay(new Date());
  }
  if (!validDay(from) || from > through) {
    from = addDays(through, -(DEFAULT_PERIOD_DAYS - 1));
  }
  // The API's periods are half-open: [from, to).
  return { from, through, to: addDays(through, 1) };
}

/** A fragment for `path` with `params` and the current period. */
export function pageHash(path, params = {}, period = currentPeriod()) {
  const query = new URLSearchParams({ from: period.from, through: period.through });
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") {
      query.set(name, String(value));
    }
  }
  return `#/${path}?${query.toString()}`;
}

export function currentPeriod() {
  return periodOf(currentLocation().params);
}
