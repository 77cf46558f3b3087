/** The filter, sort and layout controls above the fleet, wired to the view. */

import { getJson } from './api.mjs';
import { h } from './dom.mjs';
import { workersWithLabsOf } from './labs.mjs';
import { regions } from './filters.mjs';
import { STATUSES } from './rules.mjs';

const $ = (sel) => document.querySelector(sel);

function toggle(button) {
  button.setAttribute('aria-pressed', button.getAttribute('aria-pressed') === 'true' ? 'false' : 'true');
}

export class Controls {
  constructor(view, fleet) {
    this.view = view;
    this.fleet = fleet;
    this.form = $('#filters');
    this.direction = $('#sort-direction');
    this.knownRegions = '';
    this.owner = '';
    this.ownerWorkers = null;
    this.ownerTimer = null;
  }

  wire() {
    this.fillStatuses();
    this.form.addEventListener('submit', (e) => e.preventDefault());
    this.form.addEventListener('input', () => this.apply());
    this.direction.addEventListener('click', () => {
      toggle(this.direction);
      this.apply();
    });
    for (const button of document.querySelectorAll('[data-layout]')) {
      button.addEventListener('click', () => this.setLayout(button.dataset.layout));
    }
    for (const button of document.querySelectorAll('[role="columnheader"] [data-sort]')) {
      button.addEventListener('click', () => this.sortBy(button.dataset.sort));
    }
  }

  /** Read the controls into the view (which re-renders) and the column headers. */
  apply() {
    const form = this.form.elements;
    const owner = form.owner.value.trim();
    if (owner !== this.owner) {
      this.owner = owner;
      this.ownerWorkers = owner === '' ? null : new Set();  // none until the server answers
      this.askOwner();
    }
    this.view.filter = { status: form.status.value, region: form.region.value, text: form.q.value,
      labOwner: owner, ownerWorkers: this.ownerWorkers };
    const descending = this.direction.getAttribute('aria-pressed') === 'true';
    this.view.setSort({ key: form.sort.value, descending });
    for (const header of document.querySelectorAll('#fleet-table [role="columnheader"][data-column]')) {
      const sorted = header.dataset.column === form.sort.value;
      header.setAttribute('aria-sort', !sorted ? 'none' : descending ? 'descending' : 'ascending');
    }
  }

  /** Which workers have a lab of the owner asked for (soon after typing stops). */
  askOwner(delayMs = 250) {
    clearTimeout(this.ownerTimer);
    if (this.owner === '') return;
    const owner = this.owner;
    this.ownerTimer = setTimeout(async () => {
      let ids;
      try {
        ids = await workersWithLabsOf(owner, getJson);
      } catch {
        return;  // the next change or labs event asks again
      }
      if (owner !== this.owner) return;
      this.ownerWorkers = ids;
      this.view.setFilter({ ...this.view.filter, ownerWorkers: ids });
    }, delayMs);
  }

  /** Some worker's labs changed: who owns labs where may have too. */
  labsChanged() {
    if (this.owner !== '') this.askOwner(1000);
  }

  /** A column header: sort by it, or flip the direction if it already sorts. */
  sortBy(key) {
    const select = this.form.elements.sort;
    if (select.value === key) toggle(this.direction);
    else {
      select.value = key;
      this.direction.setAttribute('aria-pressed', 'false');
    }
    this.apply();
  }

  setLayout(layout) {
    for (const button of document.querySelectorAll('[data-layout]')) {
      button.setAttribute('aria-pressed', String(button.dataset.layout === layout));
    }
    this.view.setLayout(layout);
  }

  /** Offer the regions present in the fleet, keeping the one chosen. */
  regions() {
    const list = regions(this.fleet.all());
    if (list.join() === this.knownRegions) return;
    this.knownRegions = list.join();
    const select = $('#filter-region');
    const chosen = select.value;
    select.replaceChildren(h('option', { value: '' }, 'All regions'),
      ...list.map((r) => h('option', { value: r }, r)));
    select.value = list.includes(chosen) ? chosen : '';
  }

  /** The status filter: every status the domain has (rules.mjs), and "paused" (stopped
   *  by a pause), running first. */
  fillStatuses() {
    const label = (s) => s[0].toUpperCase() + s.slice(1);
    const order = ['running', 'paused', ...STATUSES.filter((s) => s !== 'running')];
    $('#filter-status').replaceChildren(h('option', { value: '' }, 'All'),
      ...order.map((s) => h('option', { value: s }, label(s))));
  }
}
