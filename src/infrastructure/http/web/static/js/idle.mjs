/**
 * The idle window, as the server's mapper computes it (`domain.policies.assess_idle`),
 * so a minimal notification moves the countdown at once; the next snapshot confirms.
 */

const MINUTE = 60_000;

function iso(ms) {
  return new Date(ms).toISOString();
}

function ms(text) {
  return text === null || text === undefined ? null : Date.parse(text);
}

/**
 * `{idle_since, auto_pause_due_at}` of a worker: only while it is running with idle
 * detection on (globally and on the worker); otherwise both null.
 *
 * Idle since the latest of last activity, last resume, the moment it last came up
 * and creation; due after the timeout, and never inside the snooze period that a
 * resume opens. Those moments only move forward, so the `idle_since` the worker
 * already has (from the server) is one of them: it stands for the moment the worker
 * came up, which the view does not carry.
 */
export function idleWindow(worker, defaults) {
  const watched = defaults.enabled && worker.idle_detection_enabled;
  if (!watched || worker.status !== 'running') return { idle_since: null, auto_pause_due_at: null };
  const resumed = ms(worker.last_resumed_at);
  const candidates = [ms(worker.last_activity_at), resumed, ms(worker._running_since),
    ms(worker.created_at), ms(worker.idle_since)]
    .filter((t) => t !== null && !Number.isNaN(t));
  if (candidates.length === 0) return { idle_since: null, auto_pause_due_at: null };
  const since = Math.max(...candidates);
  let due = since + worker.idle_timeout_minutes * MINUTE;
  if (resumed !== null) due = Math.max(due, resumed + defaults.snooze_minutes * MINUTE);
  return { idle_since: iso(since), auto_pause_due_at: iso(due) };
}
