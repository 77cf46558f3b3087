/**
 * A worker's labs in the drawer: what each row says and what a person may do to a
 * lab (the role each action needs, as the API's route table says; the lab states CML
 * accepts it in). Pure; `lab-panel.mjs` draws it.
 */

import { can } from './actions.mjs';
import { DASH, duration } from './format.mjs';

const labPath = (workerId, lab, suffix = '') =>
  `/api/workers/${encodeURIComponent(workerId)}/labs/${encodeURIComponent(lab.lab_id)}${suffix}`;

/** Each lab action: label, role, method, path, when CML takes it, a confirmation. */
export const LAB_ACTIONS = Object.freeze({
  start: { label: 'Start', role: 'operator', method: 'POST', path: (w, l) => labPath(w, l, '/start'),
    when: (l) => l.state !== 'STARTED' },
  stop: { label: 'Stop', role: 'operator', method: 'POST', path: (w, l) => labPath(w, l, '/stop'),
    when: (l) => l.state === 'STARTED' },
  wipe: { label: 'Wipe', role: 'operator', method: 'POST', path: (w, l) => labPath(w, l, '/wipe'),
    when: (l) => l.state === 'STOPPED',
    confirm: (l) => `Wipe ${l.title}? Every node's disk and configuration go back to their start.` },
  delete: { label: 'Delete', role: 'admin', method: 'DELETE', path: (w, l) => labPath(w, l),
    when: (l) => l.state !== 'STARTED',
    confirm: (l) => `Delete ${l.title} (${l.owner_username ?? 'unknown owner'}'s)? It cannot be undone.` },
});

/** The actions `role` may take on `lab` now, by name. */
export function labActions(lab, role) {
  return Object.entries(LAB_ACTIONS)
    .filter(([, action]) => can(role, action.role) && action.when(lab))
    .map(([name]) => name);
}

/** Where the lab's YAML downloads from (any signed-in person). */
export const downloadPath = (workerId, lab) => labPath(workerId, lab, '/download');

/** What a lab's row shows: title, owner, state, nodes running of total, age. */
export function labRow(lab, nowMs) {
  const running = lab.running_nodes ?? 0;
  return {
    title: lab.title,
    owner: lab.owner_username ?? DASH,
    state: STATE_WORDS[lab.state] ?? lab.state.toLowerCase(),
    tone: STATE_TONES[lab.state] ?? 'muted',
    nodes: `${running}/${lab.node_count}`,
    age: lab.created ? duration(nowMs - Date.parse(lab.created)) : DASH,
  };
}

const STATE_WORDS = { STARTED: 'started', STOPPED: 'stopped', DEFINED_ON_CORE: 'wiped' };
const STATE_TONES = { STARTED: 'ok', STOPPED: 'muted', DEFINED_ON_CORE: 'muted' };

/** The ids of the workers with a lab of `owner`, from every page of `/api/labs`. */
export async function workersWithLabsOf(owner, getJson, pageSize = 500) {
  const ids = new Set();
  let cursor = null;
  do {
    const query = new URLSearchParams({ owner, limit: String(pageSize) });
    if (cursor) query.set('cursor', cursor);
    const page = await getJson(`/api/labs?${query}`);
    for (const lab of page.items) ids.add(lab.worker_id);
    cursor = page.next_cursor;
  } while (cursor);
  return ids;
}
