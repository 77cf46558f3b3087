/**
 * The worker drawer: every field, grouped; the utilization chart; the history
 * timeline (who did what, when, why); the actions the person's role allows.
 * A modal dialog: focus moves in on open, stays in (Tab cycles), Escape closes, and
 * focus returns to what opened it.
 */

import { ACTIONS, allowedActions } from './actions.mjs';
import { getJson } from './api.mjs';
import { UtilizationChart } from './chart.mjs';
import { h, setText } from './dom.mjs';
import { fieldGroups } from './fields.mjs';
import { isPaused } from './filters.mjs';
import { countdown, licenseTone, serviceTone, statusTone, words } from './format.mjs';
import { Timeline } from './timeline.mjs';

const CHART_HOURS = 6;
const LAB_OUTCOMES = new Set(['worker.lab.operation.done', 'worker.lab.operation.failed']);
const FOCUSABLE = 'button:not([disabled]):not([hidden]), input:not([disabled]), select, [href], [tabindex="0"]';

export class Drawer {
  constructor({ root, backdrop, fleet, role, now, labs, schedules }) {
    Object.assign(this, { root, backdrop, fleet, role, now, labs, schedules });
    this.id = null;
    this.opener = null;
    this.frame = 0;
    this.idleDirty = false;
    this.$ = (sel) => root.querySelector(sel);
    this.chart = new UtilizationChart(this.$('#d-chart'));
    this.timeline = new Timeline(this.$('#d-history'), this.$('#d-history-more'));
    this._wire();
  }

  _wire() {
    // On the document: focus may sit on an element a live repaint just replaced.
    document.addEventListener('keydown', (event) => this.isOpen && this._key(event));
    this.backdrop.addEventListener('click', () => this.close());
    this.$('[data-drawer-close]').addEventListener('click', () => this.close());
    this.$('#d-idle').addEventListener('input', () => { this.idleDirty = true; });
    this.$('#d-idle').addEventListener('submit', () => { this.idleDirty = false; });
  }

  get isOpen() {
    return this.id !== null;
  }

  open(id, opener) {
    this.id = id;
    this.opener = opener ?? document.activeElement;
    this.idleDirty = false;
    this.root.hidden = false;
    this.backdrop.hidden = false;
    document.body.classList.add('drawer-open');
    this._background(true);
    this._paint();
    this.$('[data-drawer-close]').focus();
    this.timeline.show(id).catch(() => {});
    this._loadChart().catch(() => {});
    this.labs.show(id).catch(() => {});
  }

  close() {
    if (!this.isOpen) return;
    const id = this.id;
    this.id = null;
    this.root.hidden = true;
    this.backdrop.hidden = true;
    document.body.classList.remove('drawer-open');
    this._background(false);
    this.chart.clear();
    this.labs.show(null).catch(() => {});
    const back = this.opener?.isConnected ? this.opener
      : document.querySelector(`[data-action="open"][data-id="${CSS.escape(id)}"]`);
    back?.focus();
  }

  /** What is behind a modal dialog can be neither reached nor read. */
  _background(inert) {
    for (const el of document.querySelectorAll('body > header, body > main')) el.inert = inert;
  }

  /** The open worker changed: repaint at the next frame. */
  changed(id) {
    if (id !== this.id || this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.isOpen) this._paint();
    });
  }

  /** A stored event about the open worker: add it to the top of the timeline. */
  event(type, envelope) {
    if (!this.isOpen) return;
    this.timeline.live(type, envelope);
    if (LAB_OUTCOMES.has(type) && envelope.data?.worker_id === this.id) this.labsChanged(this.id);
  }

  /** The worker's labs changed (seen by the metrics job, or an operation ended). */
  labsChanged(id) {
    if (id === this.id) this.labs.refresh(id).catch(() => {});
  }

  /** A snapshot of the open worker (a metrics cycle ran): chart the new samples. */
  async snapshot(id) {
    if (id !== this.id) return;
    if (this.chart.lastAt === null) {
      await this._loadChart();
      return;
    }
    const answer = await getJson(this._metricsUrl(this.chart.lastAt));
    if (id === this.id) this.chart.append(answer.samples);
  }

  tick() {
    const w = this.isOpen ? this.fleet.get(this.id) : undefined;
    if (w !== undefined) {
      setText(this.$('#d-countdown'), idleText(w, this.now()));
      this._paintSchedule(w);
    }
  }

  _paintSchedule(w) {
    const text = this.schedules ? this.schedules.textFor(w, this.now()) : '';
    const el = this.$('#d-schedule');
    el.hidden = text === '';
    setText(el, text);
  }

  _key(event) {
    if (document.querySelector('dialog[open]')) return;  // a confirmation is on top
    if (event.key === 'Escape') {
      event.preventDefault();
      this.close();
    } else if (event.key === 'Tab') {
      const items = [...this.root.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
      if (items.length === 0) return;
      const [first, last] = [items[0], items.at(-1)];
      if (!this.root.contains(document.activeElement)) {
        event.preventDefault();
        first.focus();
      } else if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  }

  _paint() {
    const w = this.fleet.get(this.id);
    if (w === undefined) return;
    setText(this.$('#drawer-title'), w.name);
    this.$('#drawer-badges').replaceChildren(
      badge(words(w.status), statusTone(w.status), 'Status'),
      isPaused(w) ? badge('paused', 'muted', 'Paused') : '',
      badge(`CML ${words(w.service_status)}`, serviceTone(w.service_status), 'CML service'),
      badge(`license ${words(w.license_status)}`, licenseTone(w.license_status), 'License'));
    setText(this.$('#d-countdown'), idleText(w, this.now()));
    this._paintSchedule(w);
    this._paintActions(w);
    this.$('#d-fields').replaceChildren(...fieldGroups(w).map(groupSection));
  }

  _paintActions(w) {
    const names = allowedActions(w, this.role);
    const section = this.$('#d-actions-section');
    section.hidden = names.length === 0;
    const buttons = names.filter((n) => !FORMS.has(n));
    const box = this.$('#d-actions');
    const focused = box.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    box.replaceChildren(...buttons.map((name) => h('button', {
      type: 'button', class: `btn${ACTIONS[name].confirm ? ' danger' : ''}`,
      dataset: { action: name, id: w.id },
    }, ACTIONS[name].label)));
    if (focused !== null) {  // keep focus in the dialog when its button changed
      (box.querySelector(`[data-action="${focused}"]`) ?? this.$('[data-drawer-close]')).focus();
    }
    const idle = this.$('#d-idle');
    idle.hidden = !names.includes('idle');
    idle.dataset.id = w.id;
    if (!this.idleDirty) {
      idle.elements.enabled.checked = w.idle_detection_enabled;
      idle.elements.timeout.value = w.idle_timeout_overridden ? String(w.idle_timeout_minutes) : '';
    }
    const license = this.$('#d-license');
    license.hidden = !names.includes('license');
    license.dataset.id = w.id;
    const team = this.$('#d-team');
    team.hidden = !names.includes('team');
    if (team.dataset.id !== w.id || document.activeElement !== team.elements.team) {
      team.elements.team.value = w.team ?? '';
    }
    team.dataset.id = w.id;
  }

  _metricsUrl(since) {
    return `/api/workers/${encodeURIComponent(this.id)}/metrics?since=${encodeURIComponent(since)}`;
  }

  async _loadChart() {
    const id = this.id;
    const since = new Date(this.now() - CHART_HOURS * 3_600_000).toISOString();
    const answer = await getJson(this._metricsUrl(since));
    if (id !== this.id) return;
    this.$('#d-chart-empty').hidden = answer.samples.length > 0;
    if (answer.samples.length > 0) await this.chart.show(answer.samples);
  }
}

/** Actions taken with a form of the drawer, not a button. */
const FORMS = new Set(['idle', 'license', 'team']);

function idleText(w, now) {
  if (!w.idle_detection_enabled) return 'Idle auto-pause is off.';
  if (!w.auto_pause_due_at) return 'Idle auto-pause is on; it applies while the worker runs.';
  const left = countdown(w.auto_pause_due_at, now);
  return left.seconds === 0 ? 'Auto-pause is due now.' : `Auto-pause in ${left.text} unless someone uses it.`;
}

function badge(text, tone, label) {
  return h('span', { class: `badge tone-${tone}`, title: label }, text);
}

function groupSection(group) {
  const rows = group.rows.flatMap((r) => [
    h('dt', {}, r.label),
    h('dd', { title: r.title ?? null }, r.items?.length
      ? h('ul', { class: 'plain' }, r.items.map((item) => h('li', {}, item)))
      : r.value),
  ]);
  return h('section', { class: 'group' }, h('h3', {}, group.title), h('dl', {}, rows));
}
