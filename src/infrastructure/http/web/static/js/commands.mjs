/**
 * Sending commands: asks first for destructive ones, sends a fresh correlation id,
 * remembers it so the stream's outcome can be toasted, and toasts a refusal at once.
 */

import { ACTIONS, can } from './actions.mjs';
import { ApiError, send } from './api.mjs';
import { newCorrelationId } from './outcomes.mjs';

const $ = (sel) => document.querySelector(sel);

export class Commands {
  constructor({ fleet, role, pending, toasts, confirm, now, onSignedOut }) {
    Object.assign(this, { fleet, role, pending, toasts, confirm, now, onSignedOut });
  }

  /** Buttons with `data-action` anywhere on the page; the drawer's two forms. */
  wire(openDrawer) {
    document.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (!button) return;
      const { action, id } = button.dataset;
      if (action === 'open') openDrawer(id, button);
      else if (ACTIONS[action]) this.run(action, id, undefined, button);
    });
    $('#d-idle').addEventListener('submit', (event) => {
      event.preventDefault();
      const form = event.currentTarget;
      const raw = form.elements.timeout.value.trim();
      const body = { enabled: form.elements.enabled.checked, timeout_minutes: raw === '' ? null : Number(raw) };
      this.run('idle', form.dataset.id, body, form.querySelector('button[type="submit"]'));
    });
    $('#d-team').addEventListener('submit', (event) => {
      event.preventDefault();
      const form = event.currentTarget;
      const team = form.elements.team.value.trim();
      this.run('team', form.dataset.id, { team: team === '' ? null : team },
        form.querySelector('button[type="submit"]'));
    });
    $('#d-license').addEventListener('submit', (event) => {
      event.preventDefault();
      const form = event.currentTarget;
      const token = form.elements.token.value;
      form.elements.token.value = '';  // the token never stays on the page
      this.run('license', form.dataset.id, { token }, form.querySelector('button[type="submit"]'));
    });
  }

  /** Send a command (asking first if it is destructive); toasts tell how it went. */
  async run(name, id, body, button) {
    const action = ACTIONS[name];
    const worker = this.fleet.get(id);
    if (worker === undefined || !can(this.role, action.role)) return;
    if (action.confirm && !(await this.confirm.ask(action.confirm(worker), action.label))) {
      button?.focus();
      return;
    }
    const correlationId = newCorrelationId();
    this.pending.add(correlationId, { label: action.label, workerName: worker.name }, this.now());
    if (button) button.disabled = true;
    try {
      await send(action.method, action.path(worker), body ?? action.body?.(worker), correlationId);
    } catch (error) {
      this.pending.forget(correlationId);
      const detail = error instanceof ApiError ? error.message : 'the server did not answer';
      this.toasts.show('error', `${worker.name}: ${action.label} failed: ${detail}`);
      if (error instanceof ApiError && error.status === 401) this.onSignedOut();
    } finally {
      if (button?.isConnected) button.disabled = false;
    }
  }
}
