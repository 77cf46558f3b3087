/**
 * The dashboard: who is signed in, one EventSource feeding the fleet, the fleet view,
 * the drawer, commands with toasts for their outcomes.
 */

import { ApiError, getJson, logout } from './api.mjs';
import { BudgetPanel, thresholdText } from './budgets.mjs';
import { Commands } from './commands.mjs';
import { Confirm } from './confirm.mjs';
import { Controls } from './controls.mjs';
import { setText } from './dom.mjs';
import { Drawer } from './drawer.mjs';
import { Fleet } from './fleet.mjs';
import { FleetView } from './fleet-view.mjs';
import { HealthBanner } from './health.mjs';
import { LabPanel } from './lab-panel.mjs';
import {
  LABS_CHANGED, RESYNC, SETTINGS_CHANGES, SNAPSHOT, SNAPSHOTS, STREAM_TYPES,
} from './model.mjs';
import { PendingCommands } from './outcomes.mjs';
import { Schedules } from './schedules.mjs';
import { Stream } from './stream.mjs';
import { Summary } from './summary.mjs';
import { Toasts } from './toasts.mjs';

const $ = (sel) => document.querySelector(sel);
const now = () => Date.now();
const CONNECTION_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…',
  offline: 'Offline, retrying…', 'signed-out': 'Signed out' };
const SAVINGS_EVENTS = new Set(['worker.paused', 'worker.resumed', 'worker.terminated']);

/**
 * Counters the end-to-end tests and the benchmark read (`window.cmlFleet.stats`):
 * frames applied to the fleet and the reducer's time, renders and their time, fleet
 * resets (hello/resync), and when the first complete fleet arrived, was rendered
 * and was painted (ms since navigation start).
 */
const stats = { frames: 0, frameMs: 0, paints: 0, paintMs: 0, resets: 0, dataReadyAt: null,
  firstRenderAt: null, firstPaintAt: null };

/** Apply a frame to the fleet, counting it. */
function apply(fleet, type, envelope) {
  const started = performance.now();
  const result = fleet.apply(type, envelope);
  stats.frames += 1;
  stats.frameMs += performance.now() - started;
  if (result.kind === 'reset') {
    stats.resets += 1;
    stats.dataReadyAt ??= performance.now();
  }
  return result;
}

/**
 * The stream opens at once, while the page asks who is signed in: the fleet's
 * snapshots arrive meanwhile, and the first render follows as soon as both are in.
 */
async function start() {
  const fleet = new Fleet();
  let app = null;
  // A big fleet's initial state in frames of 500 workers: one event per worker costs
  // the browser ~0.1 ms each to dispatch (a second for 10,000 workers).
  const stream = new Stream({ url: '/api/events?snapshots=batched', types: STREAM_TYPES,
    onFrame: (type, envelope) => (app ? app.frame(type, envelope) : apply(fleet, type, envelope)),
    // signed out meanwhile (revoked, expired): ask to sign in again, not just say so
    onState: (state) => {
      if (state === 'signed-out') return signedOut();
      setConnection(state);
      if (state === 'live') app?.reconnected();
      return undefined;
    },
    resumeFrom: () => (fleet.ready ? fleet.position : null),
    stillSignedIn: () => getJson('/api/me').then(() => true,
      (e) => !(e instanceof ApiError && e.status === 401)) });
  stream.open();
  let me;
  try {
    me = await getJson('/api/me');
  } catch (error) {
    stream.close();
    if (error instanceof ApiError && error.status === 401) return signedOut();
    throw error;
  }
  fleet.defaults = me.idle_defaults;
  fleet.teams = me.sees_all === false ? (me.teams ?? []) : null;
  app = new Dashboard(me, fleet, stream, new URLSearchParams(location.search));
  window.cmlFleet = { stats, fleet, view: app.view };
  app.start();
}

function signedOut() {
  $('#app').hidden = true;
  $('#signed-out').hidden = false;
  setText($('#user-name'), '');  // nobody is signed in: no name, no role
  setText($('#user-role'), '');
  $('#user-role').hidden = true;
  $('#logout').hidden = true;
  delete document.body.dataset.role;
  setConnection('signed-out');
  $('#signed-out input[name="token"]').focus();
}

function setConnection(state) {
  const el = $('#conn');
  el.dataset.state = state;
  setText(el.querySelector('.conn-text'), CONNECTION_TEXT[state] ?? state);
}

class Dashboard {
  constructor(me, fleet, stream, params) {
    Object.assign(this, { me, fleet, stream });
    this.pending = new PendingCommands();
    this.toasts = new Toasts($('#toasts'));
    this.schedules = new Schedules();
    this.view = new FleetView({ fleet, table: $('#fleet-table'), rows: $('#fleet-rows'),
      cards: $('#fleet-cards'), empty: $('#fleet-empty'), rowTemplate: $('#row-template'),
      cardTemplate: $('#card-template'), role: me.role, now, naive: params.get('render') === 'naive',
      stats, nextAction: (w, at) => this.schedules.rowText(w, at) });
    this.schedules.onChange = () => {
      this.view.schedulesChanged();
      this.drawer.tick();
    };
    this.budgets = new BudgetPanel($('#budgets'));
    const confirm = new Confirm($('#confirm'));
    const labs = new LabPanel({ root: $('#d-labs'), form: $('#d-lab-import'), role: me.role, now,
      confirm, toasts: this.toasts, pending: this.pending,
      workerName: (id) => fleet.get(id)?.name ?? 'worker' });
    this.drawer = new Drawer({ root: $('#drawer'), backdrop: $('#drawer-backdrop'), fleet,
      role: me.role, now, labs, schedules: this.schedules });
    this.controls = new Controls(this.view, fleet);
    this.summary = new Summary(fleet, now);
    this.commands = new Commands({ fleet, role: me.role, pending: this.pending, toasts: this.toasts,
      confirm, now, onSignedOut: signedOut });
    this.resyncing = false;
    this.budgetsStarted = false;
  }

  start() {
    setText($('#user-name'), this.me.name);
    setText($('#user-role'), this.me.role);
    $('#user-role').hidden = false;
    $('#logout').hidden = false;
    document.body.dataset.role = this.me.role;
    this.view.onPainted = () => this.painted();
    this.controls.wire();
    this.commands.wire((id, opener) => this.drawer.open(id, opener));
    $('#logout').addEventListener('click', () => this.logout());
    // Renders what the stream has brought so far: cards on a small screen.
    this.controls.setLayout(matchMedia('(max-width: 760px)').matches ? 'cards' : 'table');
    if (this.fleet.ready) this.controls.regions();
    new HealthBanner($('#health')).start();
    this.schedules.start();
    // Budgets and daily costs are read after the fleet is painted: for a big fleet they
    // cost the server as much as the stream's initial state (every ledger decoded), and
    // an operator looks at the fleet first. Five seconds at the latest.
    setTimeout(() => this.startBudgets(), 5000);
    setInterval(() => this.tick(), 1000);
  }

  startBudgets() {
    if (this.budgetsStarted) return;
    this.budgetsStarted = true;
    this.budgets.start();
  }

  /** The stream is open again: read what its frames would have said meanwhile. */
  reconnected() {
    this.schedules.refresh();
    this.budgets.refresh();
  }

  /** A schedule, budget or webhook changed: not the fleet's, nothing to apply to it. */
  settingsChanged(type, data) {
    if (type === 'schedule.changed') this.schedules.changed(data);
    else if (type.startsWith('budget.')) this.budgets.refresh();
    if (type === 'budget.threshold.reached') this.toasts.show('warn', thresholdText(data));
  }

  /** One frame of the stream: apply it to the fleet, repaint what it changed. */
  frame(type, envelope) {
    if (SETTINGS_CHANGES.has(type)) {
      this.settingsChanged(type, envelope.data ?? {});
      return;
    }
    if (type === LABS_CHANGED) {  // not in the log: nothing to apply to the fleet
      this.drawer.labsChanged(envelope.data?.worker_id);
      this.controls.labsChanged();
      return;
    }
    const result = apply(this.fleet, type, envelope);
    if (type === RESYNC) this.resyncing = true;
    if (result.kind === 'reset') {
      this.view.renderAll();
      this.controls.regions();
      if (this.resyncing) this.toasts.show('info', 'Too much was missed while away: the fleet was reloaded.');
      this.resyncing = false;
      if (this.drawer.isOpen) this.drawer.changed(this.drawer.id);
    } else if (result.kind === 'changed') {
      const id = result.ids[0];
      this.view.changed(result.ids);
      if (type === SNAPSHOTS) {
        for (const one of result.ids) this.drawer.changed(one);
        if (result.ids.includes(this.drawer.id)) this.drawer.snapshot(this.drawer.id).catch(() => {});
      } else {
        this.drawer.changed(id);
        if (type === SNAPSHOT) this.drawer.snapshot(id).catch(() => {});
        else this.outcome(type, envelope, id);
      }
      if (SAVINGS_EVENTS.has(type)) this.summary.ask({ soon: true });
    }
    if (type !== SNAPSHOT && type !== SNAPSHOTS) this.drawer.event(type, envelope);
  }

  /** A toast when the frame is the outcome of one of this person's commands. */
  outcome(type, envelope, id) {
    const toast = this.pending.outcome(type, envelope, this.fleet.get(id)?.name, now());
    if (toast !== null) this.toasts.show(toast.tone, toast.text);
  }

  painted() {
    if (stats.firstRenderAt !== null || !this.fleet.ready) return;
    stats.firstRenderAt = performance.now();
    performance.mark('fleet-rendered');
    // The frame after this one is painted: that is when a person sees the fleet.
    requestAnimationFrame(() => setTimeout(() => {
      stats.firstPaintAt = performance.now();
      document.body.dataset.ready = 'true';
    }));
    this.summary.paint();
    this.summary.ask();
    this.startBudgets();
  }

  /** Once a second: countdowns and the summary. */
  tick() {
    this.view.tick();
    this.drawer.tick();
    if (this.fleet.ready) this.summary.paint();
  }

  async logout() {
    try {
      const answer = await logout();
      // Single sign-on: on to the provider, to end the sign-on there too.
      if (answer && typeof answer.end_session === 'string') {
        this.stream.close();
        location.assign(answer.end_session);
        return;
      }
    } finally {
      this.stream.close();
      this.drawer.close();
      signedOut();
    }
  }
}

start().catch((error) => {
  setConnection('offline');
  $('#fatal').hidden = false;
  setText($('#fatal'), `The dashboard could not start: ${error.message}`);
});
