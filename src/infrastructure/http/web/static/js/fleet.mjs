/**
 * The fleet as the stream describes it: one `Fleet` holds the workers by id and
 * applies frames (`hello`, `stream.resync`, snapshots, notifications). Pure: it
 * returns what changed and the view decides what to repaint.
 */

import {
  applyNotification, applySnapshot, DEFAULT_IDLE, HELLO, RESYNC, SNAPSHOT, SNAPSHOTS,
} from './model.mjs';

/**
 * What applying one frame did:
 * - `reset`: the whole fleet was replaced (after hello/resync and its snapshots);
 * - `changed`: these workers changed (`ids`);
 * - `loading`: a fresh set of snapshots is being received;
 * - `none`: nothing to repaint (older or already seen).
 */
export class Fleet {
  constructor(defaults = DEFAULT_IDLE) {
    this.workers = new Map();
    this.defaults = defaults;
    /** Position of the last event this copy is complete up to (to resume from). */
    this.position = null;
    this.ready = false;
    this._incoming = null;
    /** The teams whose workers are in sight (`null`: every worker). */
    this.teams = null;
  }

  /** Apply one frame: `type` is the SSE event, `envelope` its parsed CloudEvent. */
  apply(type, envelope) {
    const data = envelope.data ?? {};
    if (type === HELLO || type === RESYNC) return this._begin(data);
    if (type === SNAPSHOT) return this._snapshot(data);
    if (type === SNAPSHOTS) return this._snapshots(data.snapshots ?? []);
    const done = this._finishIncoming();
    const result = this._notification(type, envelope);
    return done ? { kind: 'reset', ids: [] } : result;
  }

  /** Workers in no particular order. */
  all() {
    return this.workers.values();
  }

  get(id) {
    return this.workers.get(id);
  }

  _begin(data) {
    this._incoming = { expected: data.workers ?? 0, position: data.position ?? null, workers: new Map() };
    return this._incoming.expected === 0 ? this._commit() : { kind: 'loading', ids: [] };
  }

  _snapshot(data) {
    if (this._incoming !== null) {
      this._incoming.workers.set(data.id, applySnapshot(undefined, data));
      if (this._incoming.workers.size >= this._incoming.expected) return this._commit();
      return { kind: 'loading', ids: [] };
    }
    const current = this.workers.get(data.id);
    const next = applySnapshot(current, data);
    return this._store(current, next);
  }

  /** A `worker.snapshots` frame: each of its snapshots as if it came alone. */
  _snapshots(snapshots) {
    let result = { kind: 'none', ids: [] };
    const changed = [];
    for (const data of snapshots) {
      const one = this._snapshot(data);
      if (one.kind === 'changed') changed.push(...one.ids);
      if (one.kind !== 'none' && result.kind !== 'reset') result = one;
    }
    return result.kind === 'changed' ? { kind: 'changed', ids: changed } : result;
  }

  _notification(type, envelope) {
    const data = envelope.data ?? {};
    const current = this.workers.get(data.worker_id);
    if (type === 'worker.team.changed' && this.teams !== null && !this.teams.includes(data.team)) {
      // Moved out of sight: it leaves this fleet (the server sends nothing more of it).
      if (typeof envelope.sequence === 'number') {
        this.position = Math.max(this.position ?? 0, envelope.sequence);
      }
      return this.workers.delete(data.worker_id) ? { kind: 'reset', ids: [] } : { kind: 'none', ids: [] };
    }
    const next = applyNotification(current, type, data,
      { correlationId: envelope.correlationid ?? null, defaults: this.defaults });
    if (typeof envelope.sequence === 'number') {
      this.position = Math.max(this.position ?? 0, envelope.sequence);
    }
    return this._store(current, next);
  }

  _store(current, next) {
    if (next === current || next === undefined) return { kind: 'none', ids: [] };
    this.workers.set(next.id, next);
    return { kind: 'changed', ids: [next.id] };
  }

  /** The announced snapshots are all here (or the stream went on): swap them in. */
  _finishIncoming() {
    if (this._incoming === null) return false;
    this._commit();
    return true;
  }

  _commit() {
    this.workers = this._incoming.workers;
    if (this._incoming.position !== null) this.position = this._incoming.position;
    this._incoming = null;
    this.ready = true;
    return { kind: 'reset', ids: [] };
  }
}
