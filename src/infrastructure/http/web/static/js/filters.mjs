/** Which workers show, in which order, and the fleet summary. Pure; no DOM. */

const HOUR = 3_600_000;

/** Paused: stopped (or stopping) by a pause that no resume has followed. */
export function isPaused(w) {
  if (w.status !== 'stopped' && w.status !== 'stopping') return false;
  if (!w.last_paused_at) return false;
  return !w.last_resumed_at || Date.parse(w.last_paused_at) >= Date.parse(w.last_resumed_at);
}

/**
 * The filter a person sets: `status` (a status, `paused`, or '' for all), `region`,
 * `text`, and `labOwner` with `ownerWorkers` (the ids of the workers that have a lab
 * of that CML user, from the server; null while no owner is asked for).
 */
export const NO_FILTER = Object.freeze({ status: '', region: '', text: '', labOwner: '', ownerWorkers: null });

function haystack(w) {
  const tags = Object.entries(w.tags ?? {}).map(([k, v]) => `${k}=${v}`);
  return [w.name, w.id, w.instance_id, w.region, w.instance_type, w.public_ip, w.private_ip, ...tags]
    .filter(Boolean).join(' ').toLowerCase();
}

export function matches(w, filter) {
  if (filter.status === 'paused' ? !isPaused(w) : filter.status && w.status !== filter.status) {
    return false;
  }
  if (filter.region && w.region !== filter.region) return false;
  if (filter.ownerWorkers && !filter.ownerWorkers.has(w.id)) return false;
  const text = (filter.text ?? '').trim().toLowerCase();
  return text === '' || text.split(/\s+/).every((part) => haystack(w).includes(part));
}

const STATUS_ORDER = ['running', 'starting', 'provisioning', 'pending', 'stopping', 'stopped',
  'failed', 'unknown', 'terminating', 'terminated', 'released'];

const num = (v) => (v === null || v === undefined ? null : Number(v));
const time = (v) => (v ? Date.parse(v) : null);

/** Sort keys: each maps a worker to a comparable value (null sorts last). */
export const SORT_KEYS = Object.freeze({
  name: (w) => (w.name ?? '').toLowerCase(),
  status: (w) => STATUS_ORDER.indexOf(w.status),
  region: (w) => w.region,
  instance_type: (w) => w.instance_type,
  cpu: (w) => num(w.cpu_percent),
  memory: (w) => num(w.memory_percent),
  disk: (w) => num(w.disk_percent),
  labs: (w) => num(w.running_labs_count ?? w.labs_count),
  idle: (w) => time(w.auto_pause_due_at),
  updated: (w) => time(w.updated_at),
});

export function sortKey(w, sort) {
  return (SORT_KEYS[sort.key] ?? SORT_KEYS.name)(w);
}

function compareKeys(ka, kb, a, b, sort) {
  if (ka !== kb) {
    if (ka === null) return 1;
    if (kb === null) return -1;
    const order = ka < kb ? -1 : ka > kb ? 1 : 0;
    if (order !== 0) return sort.descending ? -order : order;
  }
  const byName = SORT_KEYS.name(a).localeCompare(SORT_KEYS.name(b));
  return byName !== 0 ? byName : a.id.localeCompare(b.id);
}

/** Compare two workers for `sort = {key, descending}`; unknown values last; ties by name, id. */
export function compare(a, b, sort) {
  return compareKeys(sortKey(a, sort), sortKey(b, sort), a, b, sort);
}

/** The workers to show, in order (each sort key computed once). */
export function visibleWorkers(workers, filter, sort) {
  const keyed = [];
  for (const w of workers) if (matches(w, filter)) keyed.push({ w, key: sortKey(w, sort) });
  keyed.sort((x, y) => compareKeys(x.key, y.key, x.w, y.w, sort));
  return keyed.map((x) => x.w);
}

/** Hours each idle-timeout pause has kept the worker stopped (open pauses count up to now). */
export function autoPauseHours(w, nowMs) {
  let total = 0;
  for (const p of w.pause_history ?? []) {
    if (p.reason !== 'idle_timeout') continue;
    const end = p.resumed_at ? Date.parse(p.resumed_at) : nowMs;
    total += Math.max(0, end - Date.parse(p.paused_at)) / HOUR;
  }
  return total;
}

/** Counts for the summary tiles, and hours saved by auto-pause (from pause histories). */
export function summarize(workers, nowMs) {
  const s = { total: 0, running: 0, paused: 0, stopped: 0, busy: 0, failed: 0, idleSoon: 0,
    autoPauses: 0, autoPauseHours: 0, terminated: 0 };
  for (const w of workers) {
    if (w.status === 'terminated' || w.status === 'released') { s.terminated += 1; continue; }
    s.total += 1;
    if (w.status === 'running') s.running += 1;
    else if (isPaused(w)) s.paused += 1;
    else if (w.status === 'stopped') s.stopped += 1;
    else if (w.status === 'failed' || w.status === 'unknown') s.failed += 1;
    else s.busy += 1;
    if (w.auto_pause_due_at && Date.parse(w.auto_pause_due_at) - nowMs < HOUR) s.idleSoon += 1;
    s.autoPauses += w.auto_pause_count ?? 0;
    s.autoPauseHours += autoPauseHours(w, nowMs);
  }
  return s;
}

/** Regions present in the fleet, sorted. */
export function regions(workers) {
  return [...new Set([...workers].map((w) => w.region))].sort();
}
