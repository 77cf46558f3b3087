/** Test data: worker views shaped like the public contract (schemas/v1/WorkerView.json). */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const STATIC = `${ROOT}src/infrastructure/http/web/static/js/`;

/** The field names of the public worker view, from the committed JSON Schema. */
export function contractFields() {
  const schema = JSON.parse(readFileSync(`${ROOT}schemas/v1/WorkerView.json`, 'utf8'));
  return Object.keys(schema.properties).sort();
}

export const T0 = '2026-03-02T09:00:00.000Z';
export const at = (minutes) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

let counter = 0;

/** A running worker at version 5, created an hour before T0, idle since then. */
export function worker(overrides = {}) {
  counter += 1;
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    version: 5, name: `lab-${counter}`, region: 'eu-west-1', instance_type: 'm5.2xlarge',
    ami_id: 'ami-0123456789abcdef0', launch_template: null, instance_id: 'i-0123456789abcdef0',
    status: 'running', status_changed_at: at(-60), public_ip: '3.3.3.3', private_ip: '10.0.0.3',
    public_dns: null, service_status: 'ready', service_detail: null,
    license_status: 'registered', license_token_fingerprint: 'sha256:0123456789ab',
    license_detail: null, ec2_system_status: 'ok', ec2_instance_status: 'ok', cpu_percent: 12.5,
    memory_percent: 40, disk_percent: 20, cml_version: '2.9.0', cml_ready: true, cml_healthy: true,
    labs_count: 2, running_labs_count: 1, running_nodes_count: 4, metrics_recorded_at: at(-5),
    last_activity_at: null, recent_activity: [], idle_detection_enabled: true,
    idle_timeout_minutes: 60, idle_timeout_overridden: false, idle_since: at(-60),
    auto_pause_due_at: at(0), pause_history: [], last_paused_at: null, last_resumed_at: null,
    auto_pause_count: 0, manual_pause_count: 0, external_pause_count: 0, resume_count: 0,
    tags: { team: 'net' }, created_at: at(-60), created_by: 'ada', updated_at: at(-5),
    last_actor: 'metrics-job', last_correlation_id: 'job-1', terminated_at: null,
    last_operation_error: null,
    ...overrides,
  };
}

/** A notification payload for `w`: the common fields plus `extra`. */
export function note(w, extra = {}, { version = w.version + 1, actor = 'ada', minutes = 1 } = {}) {
  return { worker_id: w.id, actor, at: at(minutes), version, ...extra };
}
