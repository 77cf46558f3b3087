/**
 * Every field of a worker view, grouped for the drawer (AWS, CML, monitoring, idle,
 * license, tags, record) and formatted. Pure: `fieldGroups(worker)` returns plain
 * data; a node test checks that no field of the public contract is left out.
 */

import { dateTime, DASH, percent, words, yesNo } from './format.mjs';

const text = (v) => (v === null || v === undefined || v === '' ? DASH : String(v));
const when = (v) => ({ value: dateTime(v), title: v ?? undefined });

function row(label, fields, shown) {
  const value = typeof shown === 'object' && shown !== null && !Array.isArray(shown) ? shown : { value: shown };
  return { label, fields: Array.isArray(fields) ? fields : [fields], ...value };
}

function activityLines(w) {
  return (w.recent_activity ?? []).slice().reverse()
    .map((a) => `${dateTime(a.at)} · ${words(a.kind)}${a.detail ? ` · ${a.detail}` : ''}`);
}

function pauseLines(w) {
  return (w.pause_history ?? []).slice().reverse().map((p) => {
    const idle = p.idle_minutes ? ` after ${Math.round(p.idle_minutes)} min idle` : '';
    const resumed = p.resumed_at
      ? ` → resumed ${dateTime(p.resumed_at)} by ${p.resumed_by} (${words(p.resume_reason)})`
      : ' → still paused';
    return `${dateTime(p.paused_at)} · ${words(p.reason)}${idle} by ${p.actor}${resumed}`;
  });
}

const labs = (w) => `${text(w.labs_count)} labs, ${text(w.running_labs_count)} running, ${text(w.running_nodes_count)} nodes`;

/** `[{title, rows: [{label, fields, value, title?, items?}]}]` for one worker. */
export function fieldGroups(w) {
  return [
    { title: 'AWS', rows: [
      row('Instance', 'instance_id', text(w.instance_id)),
      row('Region', 'region', text(w.region)),
      row('Instance type', 'instance_type', text(w.instance_type)),
      row('Status', 'status', words(w.status)),
      row('Status since', 'status_changed_at', when(w.status_changed_at)),
      row('AMI', 'ami_id', text(w.ami_id)),
      row('Launch template', 'launch_template', text(w.launch_template)),
      row('Public IP', 'public_ip', text(w.public_ip)),
      row('Private IP', 'private_ip', text(w.private_ip)),
      row('Public DNS', 'public_dns', text(w.public_dns)),
      row('EC2 status checks', ['ec2_system_status', 'ec2_instance_status'],
        `system ${words(w.ec2_system_status)}, instance ${words(w.ec2_instance_status)}`),
      row('Terminated', 'terminated_at', when(w.terminated_at)),
    ] },
    { title: 'CML', rows: [
      row('Service', 'service_status', words(w.service_status)),
      row('Service detail', 'service_detail', text(w.service_detail)),
      row('Version', 'cml_version', text(w.cml_version)),
      row('Ready / healthy', ['cml_ready', 'cml_healthy'], `${yesNo(w.cml_ready)} / ${yesNo(w.cml_healthy)}`),
      row('Labs', ['labs_count', 'running_labs_count', 'running_nodes_count'], labs(w)),
      row('Last activity', 'last_activity_at', when(w.last_activity_at)),
      row('Recent activity', 'recent_activity', { value: activityLines(w).length ? '' : DASH, items: activityLines(w) }),
    ] },
    { title: 'Monitoring', rows: [
      row('CPU', 'cpu_percent', percent(w.cpu_percent)),
      row('Memory', 'memory_percent', percent(w.memory_percent)),
      row('Disk', 'disk_percent', percent(w.disk_percent)),
      row('Metrics recorded', 'metrics_recorded_at', when(w.metrics_recorded_at)),
    ] },
    { title: 'Idle auto-pause', rows: [
      row('Enabled', 'idle_detection_enabled', yesNo(w.idle_detection_enabled)),
      row('Timeout', ['idle_timeout_minutes', 'idle_timeout_overridden'],
        `${w.idle_timeout_minutes} min${w.idle_timeout_overridden ? ' (this worker)' : ' (fleet default)'}`),
      row('Idle since', 'idle_since', when(w.idle_since)),
      row('Auto-pause due', 'auto_pause_due_at', when(w.auto_pause_due_at)),
      row('Last paused', 'last_paused_at', when(w.last_paused_at)),
      row('Last resumed', 'last_resumed_at', when(w.last_resumed_at)),
      row('Pauses', ['auto_pause_count', 'manual_pause_count', 'external_pause_count', 'scheduled_pause_count', 'budget_pause_count', 'resume_count'],
        `${w.auto_pause_count} automatic, ${w.manual_pause_count} manual, ${w.external_pause_count} external, ${w.scheduled_pause_count ?? 0} scheduled, ${w.budget_pause_count ?? 0} by budget; ${w.resume_count} resumes`),
      row('Pause history', 'pause_history', { value: pauseLines(w).length ? '' : DASH, items: pauseLines(w) }),
    ] },
    { title: 'License', rows: [
      row('Status', 'license_status', words(w.license_status)),
      row('Token fingerprint', 'license_token_fingerprint', text(w.license_token_fingerprint)),
      row('Detail', 'license_detail', text(w.license_detail)),
    ] },
    { title: 'Tags', rows: [
      row('Team', 'team', text(w.team)),
      row('Users warned', 'notice_down_at', w.notice_down_at ? `it goes down at ${dateTime(w.notice_down_at)}` : DASH),
      row('Schedule', ['schedule', 'schedule_override_until'], {
        value: w.schedule_override_until
          ? `${text(w.schedule)} (kept running until ${dateTime(w.schedule_override_until)})`
          : text(w.schedule),
      }),
      row('Tags', 'tags', {
        value: Object.keys(w.tags ?? {}).length ? '' : DASH,
        items: Object.entries(w.tags ?? {}).map(([k, v]) => `${k} = ${v}`),
      }),
    ] },
    { title: 'Record', rows: [
      row('Worker id', 'id', text(w.id)),
      row('Name', 'name', text(w.name)),
      row('Version', 'version', text(w.version)),
      row('Created', ['created_at', 'created_by'], { value: `${dateTime(w.created_at)} by ${text(w.created_by)}`, title: w.created_at }),
      row('Last change', ['updated_at', 'last_actor'], { value: `${dateTime(w.updated_at)} by ${text(w.last_actor)}`, title: w.updated_at }),
      row('Correlation id', 'last_correlation_id', text(w.last_correlation_id)),
      row('Last failed operation', 'last_operation_error', text(w.last_operation_error)),
    ] },
  ];
}
