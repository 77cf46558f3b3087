/**
 * A worker's history in the drawer: who did what, when, and under which correlation
 * id, newest first. Pages of older events on demand; live events added on top.
 */

import { getJson } from './api.mjs';
import { h } from './dom.mjs';
import { dateTime, describeEvent } from './format.mjs';

const PAGE = 50;

export class Timeline {
  constructor(list, more) {
    this.list = list;
    this.more = more;
    this.id = null;
    this.versions = new Set();
    this.olderThan = null;
    more.addEventListener('click', () => this.load());
  }

  /** Show the history of worker `id` (its first page). */
  show(id) {
    this.id = id;
    this.versions.clear();
    this.olderThan = null;
    this.list.replaceChildren();
    return this.load();
  }

  async load() {
    const id = this.id;
    const before = this.olderThan === null ? '' : `&before_version=${this.olderThan}`;
    const page = await getJson(`/api/workers/${encodeURIComponent(id)}/history?limit=${PAGE}${before}`);
    if (id !== this.id) return;
    this.add(page.items, false);
    this.olderThan = page.next_before_version;
    this.more.hidden = page.next_before_version === null;
  }

  /** A stored event of this worker from the stream: on top, unless already shown. */
  live(type, envelope) {
    const data = envelope.data ?? {};
    if (data.worker_id !== this.id || typeof envelope.sequence !== 'number') return;
    this.add([{ type, version: data.version, at: data.at, actor: data.actor,
      correlation_id: envelope.correlationid ?? '', payload: data }], true);
  }

  add(entries, atTop) {
    const fresh = entries.filter((e) => !this.versions.has(e.version));
    for (const e of fresh) this.versions.add(e.version);
    const items = fresh.map(item);
    if (atTop) this.list.prepend(...items.reverse());
    else this.list.append(...items);
  }
}

function item(e) {
  return h('li', { dataset: { type: e.type } },
    h('time', { datetime: e.at }, dateTime(e.at)),
    h('span', { class: 'what' }, describeEvent(e.type, e.payload)),
    h('span', { class: 'who' }, `by ${e.actor}`),
    e.correlation_id ? h('span', { class: 'cid', title: 'Correlation id of the request' }, e.correlation_id) : '');
}
