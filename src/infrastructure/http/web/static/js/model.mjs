/**
 * The client's copy of the fleet and the pure reducer that keeps it current.
 *
 * A minimal notification is applied to the local worker at once, so the dashboard is
 * right immediately; a `worker.snapshot` (the full view) replaces the local worker
 * unless it is older (lower `version`). `hello` and `stream.resync` announce a fresh
 * set of snapshots that replaces the whole fleet. No DOM here: the browser and node's
 * test runner import this module alike.
 */

import { idleWindow } from './idle.mjs';
import {
  CHANGE_TYPES, NOTIFICATION_TYPES, PAUSE_COUNTERS, PAUSE_HISTORY_LIMIT, RECENT_ACTIVITY_LIMIT, UP_STATUSES,
} from './rules.mjs';

// The domain's rules, generated from the server's one statement of them (rules.mjs).
export { NOTIFICATION_TYPES, PAUSE_HISTORY_LIMIT, RECENT_ACTIVITY_LIMIT };

export const HELLO = 'hello';
export const RESYNC = 'stream.resync';
export const SNAPSHOT = 'worker.snapshot';
/** Many workers' snapshots in one frame (the stream is opened with `?snapshots=batched`). */
export const SNAPSHOTS = 'worker.snapshots';
/** The metrics job saw a worker's labs change (not in the log: nothing to apply). */
export const LABS_CHANGED = 'worker.labs.changed';

/**
 * Schedules, budgets and webhooks changed (not in the log, nothing to apply to the fleet:
 * `schedule.changed`, `budget.changed`, `budget.threshold.reached`, `webhook.changed`).
 */
export const SETTINGS_CHANGES = new Set(CHANGE_TYPES);

/** Every SSE event type the dashboard listens to. */
export const STREAM_TYPES = Object.freeze([HELLO, RESYNC, SNAPSHOT, SNAPSHOTS, LABS_CHANGED,
  ...CHANGE_TYPES, ...NOTIFICATION_TYPES]);

export const DEFAULT_IDLE = Object.freeze({ timeout_minutes: 60, snooze_minutes: 30, enabled: true });

/** Telemetry names in `worker.metrics.recorded` that are also view fields. */
const SAME_NAME_METRICS = [
  'ec2_system_status', 'ec2_instance_status', 'cml_version', 'cml_ready', 'cml_healthy',
  'labs_count', 'running_labs_count', 'running_nodes_count',
];
/** CML's own figures win in the view; CloudWatch ones only show with the next snapshot. */
const CML_PERCENTS = { cml_cpu_percent: 'cpu_percent', cml_memory_percent: 'memory_percent',
  cml_disk_percent: 'disk_percent' };

function clampPercent(value) {
  if (value === null || value === undefined) return null;
  return Math.round(Math.min(100, Math.max(0, Number(value))) * 10) / 10;
}

const UP = new Set(UP_STATUSES);

/**
 * The status after an event. Coming up (into starting or running) restarts the idle
 * clock, as on the server; `_running_since` is local (the view does not carry it),
 * and a snapshot's `idle_since` stands in for it.
 */
function withStatus(w, status, at) {
  if (status === null || status === undefined || status === w.status) return w;
  const cameUp = UP.has(status) && !UP.has(w.status);
  return { ...w, status, status_changed_at: at, ...(cameUp ? { _running_since: at } : {}) };
}

function newWorker(data, fields) {
  const at = data.at;
  return {
    id: data.worker_id, version: 0, name: data.name, region: data.region,
    instance_type: data.instance_type, ami_id: data.ami_id ?? null,
    launch_template: data.launch_template ?? null, instance_id: data.instance_id ?? null,
    status: data.status, status_changed_at: at, public_ip: null, private_ip: null,
    public_dns: null, service_status: 'unknown', service_detail: null,
    license_status: 'unregistered', license_token_fingerprint: null, license_detail: null,
    ec2_system_status: null, ec2_instance_status: null, cpu_percent: null,
    memory_percent: null, disk_percent: null, cml_version: null, cml_ready: null,
    cml_healthy: null, labs_count: null, running_labs_count: null, running_nodes_count: null,
    metrics_recorded_at: null, last_activity_at: null, recent_activity: [],
    idle_detection_enabled: data.idle_detection_enabled,
    idle_timeout_minutes: data.idle_timeout_minutes ?? fields.defaults.timeout_minutes,
    idle_timeout_overridden: data.idle_timeout_minutes != null, idle_since: null,
    auto_pause_due_at: null, pause_history: [], last_paused_at: null, last_resumed_at: null,
    auto_pause_count: 0, manual_pause_count: 0, external_pause_count: 0, scheduled_pause_count: 0, budget_pause_count: 0, notice_down_at: null, resume_count: 0,
    tags: { ...(data.tags ?? {}) }, created_at: at, created_by: data.actor, updated_at: at,
    last_actor: data.actor, last_correlation_id: fields.correlationId, terminated_at: null,
    last_operation_error: null, team: (data.tags ?? {})[TEAM_TAG] ?? null,
    schedule: (data.tags ?? {})[SCHEDULE_TAG] ?? null, schedule_override_until: null,
    ...(UP.has(data.status) ? { _running_since: at } : {}),
  };
}

function timeout(w, minutes, defaults) {
  return { ...w, idle_timeout_minutes: minutes ?? defaults.timeout_minutes,
    idle_timeout_overridden: minutes !== null && minutes !== undefined };
}

function paused(w, d) {
  const record = { paused_at: d.paused_at, reason: d.reason, actor: d.actor,
    idle_minutes: d.idle_minutes ?? null, resumed_at: null, resume_reason: null,
    resumed_by: null };
  const counter = PAUSE_COUNTERS[d.reason] ?? 'external_pause_count';
  const next = { ...w, last_paused_at: d.paused_at, [counter]: w[counter] + 1,
    pause_history: [...w.pause_history, record].slice(-PAUSE_HISTORY_LIMIT) };
  return withStatus(next, d.status, d.at);
}

function resumed(w, d) {
  const history = [...w.pause_history];
  const last = history[history.length - 1];
  if (last && last.resumed_at === null) {
    history[history.length - 1] = { ...last, resumed_at: d.resumed_at,
      resume_reason: d.reason, resumed_by: d.actor };
  }
  const next = { ...w, last_resumed_at: d.resumed_at, resume_count: w.resume_count + 1,
    pause_history: history };
  return withStatus(next, d.status, d.at);
}

function metrics(w, d) {
  const next = { ...w, metrics_recorded_at: d.recorded_at };
  const changes = d.changes ?? {};
  for (const name of SAME_NAME_METRICS) if (name in changes) next[name] = changes[name];
  for (const [raw, field] of Object.entries(CML_PERCENTS)) {
    if (changes[raw] !== null && changes[raw] !== undefined) next[field] = clampPercent(changes[raw]);
  }
  return next;
}

function activity(w, d) {
  const records = [...w.recent_activity, ...(d.records ?? [])].slice(-RECENT_ACTIVITY_LIMIT);
  return { ...w, last_activity_at: d.last_activity_at, recent_activity: records };
}

/** The tag that names a worker's team (`domain.tags.TEAM_TAG`). */
export const TEAM_TAG = 'cml-fleet:team';
/** The tag that names the office-hours schedule a worker follows. */
export const SCHEDULE_TAG = 'cml-fleet:schedule';

function tags(w, d) {
  const next = { ...w.tags };
  for (const key of d.removed ?? []) delete next[key];
  const merged = { ...next, ...(d.added ?? {}) };
  return { ...w, tags: merged, team: merged[TEAM_TAG] ?? null, schedule: merged[SCHEDULE_TAG] ?? null };
}

function license(w, d, extra = {}) {
  return { ...w, license_status: d.license_status, ...extra };
}

/** How each notification changes the worker: `(worker, data, ctx) => worker`. */
const APPLY = {
  'worker.instance.assigned': (w, d) => withStatus({ ...w, instance_id: d.instance_id }, d.status, d.at),
  'worker.status.changed': (w, d) => withStatus(w, d.status, d.at),
  'worker.service_status.changed': (w, d) => ({ ...w, service_status: d.service_status,
    service_detail: d.service_detail ?? null }),
  'worker.endpoint.changed': (w, d) => ({ ...w, public_ip: d.public_ip ?? null,
    private_ip: d.private_ip ?? null, public_dns: d.public_dns ?? null }),
  'worker.metrics.recorded': metrics,
  'worker.activity.recorded': activity,
  'worker.idle_detection.toggled': (w, d, ctx) =>
    timeout({ ...w, idle_detection_enabled: d.enabled }, d.timeout_minutes, ctx.defaults),
  'worker.idle_detection.timeout_changed': (w, d, ctx) => timeout(w, d.timeout_minutes, ctx.defaults),
  'worker.paused': paused,
  'worker.resumed': resumed,
  'worker.start.requested': (w, d) => withStatus(w, d.status, d.at),
  'worker.stop.requested': (w, d) => withStatus(w, d.status, d.at),
  'worker.terminate.requested': (w, d) => withStatus(w, d.status, d.at),
  'worker.terminated': (w, d) => withStatus({ ...w, terminated_at: d.terminated_at }, d.status, d.at),
  'worker.operation.failed': (w, d) => withStatus({ ...w,
    last_operation_error: `${d.operation}: ${d.reason}` }, d.status, d.at),
  'worker.license.registration.started': (w, d) => license(w, d,
    { license_token_fingerprint: d.license_token_fingerprint, license_detail: null }),
  'worker.license.registration.completed': (w, d) => license(w, d),
  'worker.license.registration.failed': (w, d) => license(w, d, { license_detail: d.reason }),
  'worker.license.deregistration.started': (w, d) => license(w, d, { license_detail: null }),
  'worker.license.deregistration.completed': (w, d) => license(w, d,
    { license_token_fingerprint: null }),
  'worker.license.deregistration.failed': (w, d) => license(w, d, { license_detail: d.reason }),
  'worker.license.observed': (w, d) => license(w, d, { license_detail: d.license_detail ?? null,
    ...(d.license_status === 'unregistered' ? { license_token_fingerprint: null } : {}) }),
  'worker.released': (w, d) => withStatus(w, d.status, d.at),
  'worker.tags.changed': tags,
  'worker.tags.applied': (w) => w,
  'worker.team.changed': (w, d) => ({ ...w, team: d.team ?? null }),
  'worker.schedule.overridden': (w, d) => ({ ...w, schedule_override_until: d.until ?? null }),
  'worker.notice.posted': (w, d) => ({ ...w, notice_down_at: d.down_at }),
  // Lab operations change the worker's labs, not the worker: the drawer refetches them.
  'worker.lab.operation.requested': (w) => w,
  'worker.lab.operation.done': (w) => w,
  'worker.lab.operation.failed': (w) => w,
};

const CREATING = new Set(['worker.created', 'worker.imported']);

/**
 * The worker after a minimal notification, or `current` itself when the notification
 * does not apply (already seen, older, or about a worker this client does not know).
 *
 * @param {object|undefined} current the local worker view
 * @param {string} type the notification type
 * @param {object} data the notification payload (with worker_id, actor, at, version)
 * @param {{correlationId?: string|null, defaults?: object}} ctx
 */
export function applyNotification(current, type, data, ctx = {}) {
  const fields = { correlationId: ctx.correlationId ?? null, defaults: ctx.defaults ?? DEFAULT_IDLE };
  if (current !== undefined && data.version <= current.version) return current;
  let next;
  if (CREATING.has(type)) {
    if (current !== undefined) return current;
    next = newWorker(data, fields);
  } else {
    const apply = APPLY[type];
    if (current === undefined || apply === undefined) return current;
    next = apply(current, data, fields);
  }
  next = { ...next, version: data.version, updated_at: data.at, last_actor: data.actor,
    last_correlation_id: fields.correlationId ?? next.last_correlation_id };
  return { ...next, ...idleWindow(next, fields.defaults) };
}

/** A snapshot replaces the local worker unless the local one is newer. */
export function applySnapshot(current, snapshot) {
  if (current !== undefined && snapshot.version < current.version) return current;
  const { position: _position, ...view } = snapshot;
  return view;
}
