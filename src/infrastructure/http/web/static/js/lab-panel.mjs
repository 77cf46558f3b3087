/**
 * The drawer's labs: the open worker's labs as the server last saw them, each with
 * the actions the person's role allows (wipe and delete asked first), a download
 * link and a link into the worker's CML; an import form for admins. Refetched when
 * the stream says the worker's labs changed or a lab operation ended.
 */

import { can } from './actions.mjs';
import { ApiError, getJson, send, sendText } from './api.mjs';
import { h, setText } from './dom.mjs';
import { downloadPath, LAB_ACTIONS, labActions, labRow } from './labs.mjs';
import { newCorrelationId } from './outcomes.mjs';

export class LabPanel {
  constructor({ root, form, role, now, confirm, toasts, pending, workerName }) {
    Object.assign(this, { root, form, role, now, confirm, toasts, pending, workerName });
    this.workerId = null;
    this.labs = [];
    this.asked = 0;
    root.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-lab-action]');
      if (button) this.act(button.dataset.labAction, button.dataset.labId, button).catch(() => {});
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.importFile().catch(() => {});
    });
  }

  /** Show `workerId`'s labs (null: the drawer closed). */
  async show(workerId) {
    this.workerId = workerId;
    this.labs = [];
    this.form.hidden = workerId === null || !can(this.role, 'admin');
    this.form.dataset.id = workerId ?? '';
    this._paint();
    if (workerId !== null) await this.refresh(workerId);
  }

  /** Fetch again if `workerId` is the one shown (the newest answer wins). */
  async refresh(workerId = this.workerId) {
    if (workerId === null || workerId !== this.workerId) return;
    const asked = ++this.asked;
    const answer = await getJson(`/api/workers/${encodeURIComponent(workerId)}/labs`);
    if (asked !== this.asked || workerId !== this.workerId) return;
    this.labs = answer.items;
    this._paint();
  }

  async act(name, labId, button) {
    const lab = this.labs.find((l) => l.lab_id === labId);
    const action = LAB_ACTIONS[name];
    if (lab === undefined || action === undefined) return;
    if (action.confirm && !(await this.confirm.ask(action.confirm(lab), action.label))) {
      button.focus();
      return;
    }
    await this._send(`${action.label} ${lab.title}`, button,
      (id) => send(action.method, action.path(this.workerId, lab), undefined, id));
  }

  async importFile() {
    const file = this.form.elements.file.files[0];
    if (!file) return;
    const title = this.form.elements.title.value.trim();
    const path = `/api/workers/${encodeURIComponent(this.workerId)}/labs/import`
      + (title ? `?title=${encodeURIComponent(title)}` : '');
    const text = await file.text();
    const button = this.form.querySelector('button[type="submit"]');
    const sent = await this._send(`Import ${file.name}`, button,
      (id) => sendText('POST', path, text, 'application/yaml', id));
    if (sent) this.form.reset();
  }

  async _send(label, button, request) {
    const correlationId = newCorrelationId();
    const name = this.workerName(this.workerId);
    this.pending.add(correlationId, { label, workerName: name }, this.now());
    button.disabled = true;
    try {
      await request(correlationId);
      return true;
    } catch (error) {
      this.pending.forget(correlationId);
      const detail = error instanceof ApiError ? error.message : 'the server did not answer';
      this.toasts.show('error', `${name}: ${label} failed: ${detail}`);
      return false;
    } finally {
      if (button.isConnected) button.disabled = false;
    }
  }

  _paint() {
    const body = this.root.querySelector('tbody');
    const empty = this.root.querySelector('[data-part="empty"]');
    empty.hidden = this.labs.length > 0;
    setText(empty, this.workerId === null ? '' : 'No labs seen on this worker (none, or it is not running).');
    this.root.querySelector('table').hidden = this.labs.length === 0;
    body.replaceChildren(...this.labs.map((lab) => this._row(lab)));
  }

  _row(lab) {
    const row = labRow(lab, this.now());
    const title = lab.cml_url
      ? h('a', { href: lab.cml_url, target: '_blank', rel: 'noopener noreferrer',
        title: 'Open in CML' }, row.title)
      : row.title;
    const actions = labActions(lab, this.role).map((name) => h('button', {
      type: 'button', class: `btn small${LAB_ACTIONS[name].confirm ? ' danger' : ''}`,
      dataset: { labAction: name, labId: lab.lab_id },
      'aria-label': `${LAB_ACTIONS[name].label} ${lab.title}`,
    }, LAB_ACTIONS[name].label));
    const download = h('a', { class: 'btn small', href: downloadPath(this.workerId, lab),
      download: `${lab.title}.yaml`, 'aria-label': `Download ${lab.title}` }, 'YAML');
    return h('tr', { dataset: { labId: lab.lab_id, state: lab.state } },
      h('th', { scope: 'row' }, title),
      h('td', {}, row.owner),
      h('td', {}, h('span', { class: `badge tone-${row.tone}`, dataset: { part: 'state' } }, row.state)),
      h('td', { class: 'num' }, row.nodes),
      h('td', {}, row.age),
      h('td', { class: 'actions' }, ...actions, download));
  }
}
