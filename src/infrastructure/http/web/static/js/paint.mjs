/**
 * Painting one worker's row or card: each part is written only when its value
 * changed since the last paint of that element.
 */

import { ACTIONS, allowedActions } from './actions.mjs';
import { h, setAttr, setText } from './dom.mjs';
import { isPaused } from './filters.mjs';
import {
  countdown, DASH, licenseTone, meterTone, percent, serviceTone, statusTone, words,
} from './format.mjs';

const METERS = [['cpu', 'cpu_percent', 'CPU'], ['memory', 'memory_percent', 'Memory'],
  ['disk', 'disk_percent', 'Disk']];

/** A worker's element from `template`, with its parts found once: `{el, parts, painted}`. */
export function createItem(template, id) {
  const el = template.cloneNode(true);
  el.dataset.id = id;
  const parts = {};
  for (const part of el.querySelectorAll('[data-part]')) parts[part.dataset.part] = part;
  for (const button of el.querySelectorAll('[data-action="open"]')) button.dataset.id = id;
  return { el, parts, painted: {} };
}

function put(item, name, value, write) {
  if (item.painted[name] === value) return;
  item.painted[name] = value;
  write(value);
}

/** Paint every part of `item` for worker `w` (quick actions as `role` allows). */
export function paintItem(item, w, role, now) {
  const { parts, el } = item;
  put(item, 'name', w.name, (v) => setText(parts.name, v));
  put(item, 'iid', w.instance_id, (v) => setText(parts.iid, v ?? 'no instance yet'));
  put(item, 'status', w.status, (v) => {
    el.dataset.status = v;
    badge(parts.status, words(v), statusTone(v));
  });
  put(item, 'paused', isPaused(w), (v) => { parts.paused.hidden = !v; });
  put(item, 'service', w.service_status, (v) => badge(parts.service, words(v), serviceTone(v)));
  put(item, 'license', w.license_status, (v) => badge(parts.license, words(v), licenseTone(v)));
  put(item, 'region', w.region, (v) => setText(parts.region, v));
  put(item, 'type', w.instance_type, (v) => setText(parts.type, v));
  for (const [name, field, label] of METERS) put(item, name, w[field], (v) => meter(parts[name], label, v));
  put(item, 'labs', `${w.labs_count}|${w.running_labs_count}|${w.running_nodes_count}`, () => {
    setText(parts.labs, w.labs_count === null ? DASH : String(w.labs_count));
    setText(parts.labsRunning, w.running_labs_count
      ? `${w.running_labs_count} running, ${w.running_nodes_count ?? 0} nodes` : '');
  });
  paintIdle(item, w, now);
  paintActions(item, w, role);
}

/** The worker's next scheduled action under its auto-pause countdown ('' hides it). */
export function paintScheduled(item, text) {
  if (!item.parts.scheduled) return;
  put(item, 'scheduled', text, (v) => {
    setText(item.parts.scheduled, v);
    item.parts.scheduled.hidden = v === '';
  });
}

/** The auto-pause cell; returns whether it is counting down (to tick it each second). */
export function paintIdle(item, w, now) {
  const counting = Boolean(w.idle_detection_enabled && w.auto_pause_due_at);
  let text = w.idle_detection_enabled ? DASH : 'off';
  let urgent = false;
  if (counting) ({ text, urgent } = countdown(w.auto_pause_due_at, now));
  put(item, 'idle', `${text}|${urgent}`, () => {
    setText(item.parts.idle, text);
    item.parts.idle.classList.toggle('urgent', urgent);
    setAttr(item.parts.idle, 'title', counting ? `Auto-pause due ${w.auto_pause_due_at}` : null);
  });
  return counting;
}

function paintActions(item, w, role) {
  if (!item.parts.actions) return;
  const names = allowedActions(w, role, { quickOnly: true });
  put(item, 'actions', names.join(' '), () => {
    item.parts.actions.replaceChildren(...names.map((name) => h('button', {
      type: 'button', class: 'btn small', dataset: { action: name, id: w.id },
      'aria-label': `${ACTIONS[name].label} ${w.name}`,
    }, ACTIONS[name].label)));
  });
}

function badge(el, text, tone) {
  setText(el, text);
  el.className = `badge tone-${tone}`;
}

function meter(el, label, value) {
  const known = value !== null && value !== undefined;
  el.querySelector('.fill').style.transform = `scaleX(${known ? Math.min(100, Math.max(0, value)) / 100 : 0})`;
  el.querySelector('.pct').textContent = percent(value);
  el.dataset.tone = meterTone(value);
  setAttr(el, 'aria-valuenow', known ? Math.round(value) : null);
  setAttr(el, 'aria-label', `${label} ${percent(value)}`);
}
