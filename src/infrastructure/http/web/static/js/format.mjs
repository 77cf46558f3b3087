/** Pure formatting of worker facts for people. No DOM; tested with `node --test`. */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
export const DASH = '—';

const pad = (n) => String(n).padStart(2, '0');

/** `42%`, or a dash when unknown. */
export function percent(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return DASH;
  return `${Math.round(Number(value))}%`;
}

/** A length of time, two units at most: `2 d 4 h`, `1 h 05 min`, `4 min`, `12 s`. */
export function duration(ms) {
  const abs = Math.max(0, Math.round(ms));
  if (abs >= DAY) return `${Math.floor(abs / DAY)} d ${Math.floor((abs % DAY) / HOUR)} h`;
  if (abs >= HOUR) return `${Math.floor(abs / HOUR)} h ${pad(Math.floor((abs % HOUR) / MINUTE))} min`;
  if (abs >= MINUTE) return `${Math.floor(abs / MINUTE)} min`;
  return `${Math.floor(abs / SECOND)} s`;
}

/**
 * Time left until an auto-pause: `mm:ss` under an hour, else `1 h 05 min`;
 * `due` once it is due. `urgent` under five minutes.
 */
export function countdown(dueIso, nowMs) {
  if (!dueIso) return { text: DASH, seconds: null, urgent: false };
  const left = Date.parse(dueIso) - nowMs;
  if (left <= 0) return { text: 'due', seconds: 0, urgent: true };
  const seconds = Math.ceil(left / SECOND);
  const text = left < HOUR ? `${pad(Math.floor(seconds / 60))}:${pad(seconds % 60)}` : duration(left);
  return { text, seconds, urgent: left < 5 * MINUTE };
}

/** `just now`, `5 min ago`, `in 3 h 02 min`. */
export function relativeTime(iso, nowMs) {
  if (!iso) return DASH;
  const delta = Date.parse(iso) - nowMs;
  if (Math.abs(delta) < 10 * SECOND) return 'just now';
  return delta < 0 ? `${duration(-delta)} ago` : `in ${duration(delta)}`;
}

/** `2026-03-02 09:01:05` in the given (default: the browser's) time zone. */
export function dateTime(iso, timeZone = undefined) {
  if (!iso) return DASH;
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit',
    minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (type) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

/** `idle_timeout` -> `idle timeout`. */
export function words(value) {
  if (value === null || value === undefined || value === '') return DASH;
  return String(value).replaceAll('_', ' ');
}

export function yesNo(value) {
  if (value === null || value === undefined) return DASH;
  return value ? 'yes' : 'no';
}

/** `12.5 h` (one decimal under 100 h). */
export function hours(value) {
  if (value === null || value === undefined) return DASH;
  return value < 100 ? `${value.toFixed(1)} h` : `${Math.round(value).toLocaleString('en')} h`;
}

/** `$1,234.50` (or the currency given). */
export function money(amount, currency = 'USD') {
  if (amount === null || amount === undefined) return DASH;
  return new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount);
}

const STATUS_TONES = {
  running: 'ok', starting: 'busy', provisioning: 'busy', pending: 'busy', stopping: 'busy',
  stopped: 'muted', terminating: 'busy', terminated: 'muted', released: 'muted', failed: 'bad',
  unknown: 'warn',
};
const SERVICE_TONES = { ready: 'ok', reachable: 'busy', unreachable: 'bad', unknown: 'muted' };
const LICENSE_TONES = {
  registered: 'ok', evaluation: 'warn', registering: 'busy', deregistering: 'busy',
  unregistered: 'muted', expired: 'bad', failed: 'bad',
};

/** The colour family of a badge: ok, busy, warn, bad or muted. */
export const statusTone = (s) => STATUS_TONES[s] ?? 'muted';
export const serviceTone = (s) => SERVICE_TONES[s] ?? 'muted';
export const licenseTone = (s) => LICENSE_TONES[s] ?? 'muted';

/** The level of a utilization bar: ok under 70 %, warn under 90 %, bad above. */
export function meterTone(value) {
  if (value === null || value === undefined) return 'muted';
  if (value >= 90) return 'bad';
  return value >= 70 ? 'warn' : 'ok';
}

const METRIC_LABELS = {
  cml_cpu_percent: 'CPU', cw_cpu_percent: 'CPU (CloudWatch)', cml_memory_percent: 'memory',
  cw_memory_percent: 'memory (CloudWatch)', cml_disk_percent: 'disk', labs_count: 'labs',
  running_labs_count: 'running labs', running_nodes_count: 'running nodes',
};

function metricChange([name, value]) {
  const label = METRIC_LABELS[name] ?? words(name);
  const shown = name.endsWith('_percent') ? percent(value) : words(value === null ? null : String(value));
  return `${label} ${shown}`;
}

function tagChanges(p) {
  const added = Object.entries(p.added ?? {}).map(([k, v]) => `+${k}=${v}`);
  const removed = (p.removed ?? []).map((k) => `−${k}`);
  return [...added, ...removed].join(' ') || 'none';
}

const DESCRIBE = {
  'worker.created': (p) => `Created in ${p.region} (${p.instance_type})`,
  'worker.imported': (p) => `Imported ${p.instance_id} (${words(p.status)})`,
  'worker.instance.assigned': (p) => `Instance ${p.instance_id} assigned`,
  'worker.status.changed': (p) => `Status ${words(p.previous_status)} → ${words(p.status)}`,
  'worker.service_status.changed': (p) =>
    `CML service ${words(p.service_status)}${p.service_detail ? `: ${p.service_detail}` : ''}`,
  'worker.endpoint.changed': (p) => `Address ${p.public_ip ?? p.private_ip ?? 'removed'}`,
  'worker.metrics.recorded': (p) =>
    `Metrics: ${Object.entries(p.changes ?? {}).map(metricChange).join(', ') || 'unchanged'}`,
  'worker.activity.recorded': (p) =>
    `Activity: ${(p.records ?? []).map((r) => words(r.kind)).join(', ') || 'none'}`,
  'worker.idle_detection.toggled': (p) => `Idle auto-pause ${p.enabled ? 'on' : 'off'}`,
  'worker.idle_detection.timeout_changed': (p) =>
    `Idle timeout ${p.timeout_minutes === null ? 'set to the default' : `${p.timeout_minutes} min`}`,
  'worker.paused': (p) => `Paused (${words(p.reason)}${p.idle_minutes ? `, idle ${Math.round(p.idle_minutes)} min` : ''})`,
  'worker.resumed': (p) => `Resumed (${words(p.reason)})`,
  'worker.start.requested': () => 'Start requested',
  'worker.stop.requested': () => 'Stop requested',
  'worker.terminate.requested': () => 'Termination requested',
  'worker.terminated': (p) => `Terminated${p.reason ? `: ${p.reason}` : ''}`,
  'worker.released': (p) => `Released from management (was ${words(p.previous_status)}): ${p.reason}`,
  'worker.operation.failed': (p) => `${words(p.operation)} failed: ${p.reason} (now ${words(p.status)})`,
  'worker.license.registration.started': () => 'License registration started',
  'worker.license.registration.completed': (p) => `License ${words(p.license_status)}`,
  'worker.license.registration.failed': (p) => `License registration failed: ${p.reason}`,
  'worker.license.deregistration.started': () => 'License deregistration started',
  'worker.license.deregistration.completed': () => 'License deregistered',
  'worker.license.deregistration.failed': (p) => `License deregistration failed: ${p.reason}`,
  'worker.license.observed': (p) =>
    `License seen ${words(p.license_status)} on CML${p.license_detail ? `: ${p.license_detail}` : ''}`,
  'worker.tags.changed': (p) => `Tags ${tagChanges(p)}${p.observed ? ' (seen in EC2)' : ''}`,
  'worker.tags.applied': () => 'Tags written to EC2',
  'worker.schedule.overridden': (p) =>
    (p.until ? `Kept running until ${dateTime(p.until)}, whatever its schedule says` : 'Schedule override lifted'),
  'worker.notice.posted': (p) => `Users warned on CML: it will ${p.action} at ${dateTime(p.down_at)}`
    + (p.lead_minutes ? ` (${p.lead_minutes} min ahead)` : ''),
  'worker.team.changed': (p) => (p.team ? `Moved to team ${p.team}` : 'Taken out of its team')
    + (p.previous ? ` (was ${p.previous})` : ''),
  'worker.lab.operation.requested': (p) => `Lab ${p.operation} requested${labName(p)}`,
  'worker.lab.operation.done': (p) =>
    `Lab ${p.operation} done${labName(p)}${p.lab_state ? ` (${words(p.lab_state.toLowerCase())})` : ''}`,
  'worker.lab.operation.failed': (p) => `Lab ${p.operation} failed${labName(p)}: ${p.reason}`,
};

function labName(p) {
  if (p.title) return `: ${p.title}`;
  return p.lab_id ? ` (${p.lab_id.slice(0, 8)})` : '';
}

/** One line for a history entry or a notification: what happened. */
export function describeEvent(type, payload) {
  const describe = DESCRIBE[type];
  return describe ? describe(payload ?? {}) : words(type);
}
