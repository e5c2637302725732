// How numbers are shown. One rule each, documented in docs/dashboard.md (the browser tests
// format the API's values with the same rules and compare with what the page shows).

const COUNT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
export const NONE = "–";

/** 1234 -> "1,234". */
export function count(value) {
  return value === null || value === undefined ? NONE : COUNT.format(value);
}

/** Seconds, rounded to whole seconds: "45s", "2m 05s", "1h 02m 03s". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) {
    return NONE;
  }
  const total = Math.round(Number(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const two = (part) => String(part).padStart(2, "0");
  if (hours > 0) {
    return `${hours}h ${two(minutes)}m ${two(secs)}s`;
  }
  if (minutes > 0) {
    return `${minutes}m ${two(secs)}s`;
  }
  return `${secs}s`;
}

/** A share from 0 to 1 -> "45.2%". */
export function percent(share) {
  return share === null || share === undefined ? NONE : `${(Number(share) * 100).toFixed(1)}%`;
}

/** A relative change (0.125 = 12.5 % more) -> "+12.5%", "-3.0%"; null -> "–". */
export function change(relative) {
  if (relative === null || relative === undefined) {
    return NONE;
  }
  const text = `${(Math.abs(Number(relative)) * 100).toFixed(1)}%`;
  if (Number(relative) > 0) {
    return `+${text}`;
  }
  return Number(relative) < 0 ? `-${text}` : `±${text}`;
}

/** A score of 0 to 100 -> "72.5". */
export function score(value) {
  return value === null || value === undefined ? NONE : Number(value).toFixed(1);
}

/** An ISO 8601 time -> "2026-05-01 14:03:07" (UTC). */
export function time(iso) {
  if (!iso) {
    return NONE;
  }
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : moment.toISOString().slice(0, 19).replace("T", " ");
}

/** Seconds since a start -> "+12:05" (minutes:seconds, or h:mm:ss past an hour). */
export function offset(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds)));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours > 0
    ? `+${hours}:${String(minutes).padStart(2, "0")}:${secs}`
    : `+${minutes}:${secs}`;
}

/** A change of a share, in percentage points: 0.125 -> "+12.5 pts"; null -> "–". */
export function pointsChange(difference) {
  if (difference === null || difference === undefined) {
    return NONE;
  }
  const text = `${(Math.abs(Number(difference)) * 100).toFixed(1)} pts`;
  if (Number(difference) > 0) {
    return `+${text}`;
  }
  return Number(difference) < 0 ? `-${text}` : `±${text}`;
}
