// Generated from the domain's rules by `cml-fleet schemas export` (make schemas):
// do not edit. src/infrastructure/http/web/rules.py says what is here and why.

export const NOTIFICATION_TYPES = Object.freeze([
  "worker.created",
  "worker.imported",
  "worker.instance.assigned",
  "worker.status.changed",
  "worker.service_status.changed",
  "worker.endpoint.changed",
  "worker.metrics.recorded",
  "worker.activity.recorded",
  "worker.idle_detection.toggled",
  "worker.idle_detection.timeout_changed",
  "worker.paused",
  "worker.resumed",
  "worker.start.requested",
  "worker.stop.requested",
  "worker.terminate.requested",
  "worker.terminated",
  "worker.released",
  "worker.operation.failed",
  "worker.license.registration.started",
  "worker.license.registration.completed",
  "worker.license.registration.failed",
  "worker.license.deregistration.started",
  "worker.license.deregistration.completed",
  "worker.license.deregistration.failed",
  "worker.license.observed",
  "worker.tags.changed",
  "worker.tags.applied",
  "worker.team.changed",
  "worker.schedule.overridden",
  "worker.notice.posted",
  "worker.lab.operation.requested",
  "worker.lab.operation.done",
  "worker.lab.operation.failed"
]);
export const CHANGE_TYPES = Object.freeze([
  "schedule.changed",
  "budget.changed",
  "budget.threshold.reached",
  "webhook.changed"
]);
export const STATUSES = Object.freeze([
  "pending",
  "provisioning",
  "running",
  "stopping",
  "stopped",
  "starting",
  "terminating",
  "terminated",
  "released",
  "failed",
  "unknown"
]);
export const STATUS_AFTER = Object.freeze({
  "worker.created": "pending",
  "worker.instance.assigned": "provisioning",
  "worker.start.requested": "starting",
  "worker.stop.requested": "stopping",
  "worker.terminate.requested": "terminating",
  "worker.terminated": "terminated",
  "worker.released": "released"
});
export const UP_STATUSES = Object.freeze([
  "running",
  "starting"
]);
export const FINAL_STATUSES = Object.freeze([
  "released",
  "terminated"
]);
export const LICENSE_IN_PROGRESS = Object.freeze([
  "deregistering",
  "registering"
]);
export const PAUSE_COUNTERS = Object.freeze({
  "idle_timeout": "auto_pause_count",
  "manual": "manual_pause_count",
  "external": "external_pause_count",
  "schedule": "scheduled_pause_count",
  "budget": "budget_pause_count"
});
export const PAUSE_HISTORY_LIMIT = Object.freeze(20);
export const RECENT_ACTIVITY_LIMIT = Object.freeze(10);
