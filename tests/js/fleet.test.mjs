import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Fleet } from '../../src/infrastructure/http/web/static/js/fleet.mjs';
import { note, worker } from './fixtures.mjs';

const hello = (workers, position) => ({ data: { position, workers } });
const snapshot = (w, position = 10) => ({ data: { ...w, position } });
const frame = (data, sequence, correlationid = 'job-1') => ({ data, sequence, correlationid });

describe('a dashboard follows the stream', () => {
  it('shows the fleet once every announced snapshot is in', () => {
    const fleet = new Fleet();
    const [a, b] = [worker(), worker()];
    assert.equal(fleet.apply('hello', hello(2, 10)).kind, 'loading');
    assert.equal(fleet.apply('worker.snapshot', snapshot(a)).kind, 'loading');
    assert.equal(fleet.ready, false);
    assert.equal(fleet.apply('worker.snapshot', snapshot(b)).kind, 'reset');
    assert.deepEqual([...fleet.all()].map((w) => w.id), [a.id, b.id]);
    assert.equal(fleet.position, 10);
    assert.equal(fleet.ready, true);
  });

  it('shows the fleet from batched snapshots as from single ones', () => {
    const fleet = new Fleet();
    const [a, b, c] = [worker(), worker(), worker()];
    const batch = (...ws) => ({ data: { position: 10, snapshots: ws.map((w) => ({ ...w, position: 10 })) } });
    fleet.apply('hello', hello(3, 10));
    assert.equal(fleet.apply('worker.snapshots', batch(a, b)).kind, 'loading');
    assert.equal(fleet.ready, false);
    assert.equal(fleet.apply('worker.snapshots', batch(c)).kind, 'reset');
    assert.deepEqual([...fleet.all()].map((w) => w.id), [a.id, b.id, c.id]);
    assert.equal(fleet.position, 10);
    const later = { ...a, name: 'renamed', version: a.version + 1 };
    const changed = fleet.apply('worker.snapshots', batch(later, b));
    assert.deepEqual(changed, { kind: 'changed', ids: [a.id, b.id] });
    assert.equal(fleet.get(a.id).name, 'renamed');
  });

  it('an empty fleet is ready at once', () => {
    const fleet = new Fleet();
    assert.equal(fleet.apply('hello', hello(0, 0)).kind, 'reset');
    assert.equal(fleet.ready, true);
  });

  it('applies a notification to one worker and remembers its position', () => {
    const fleet = new Fleet();
    const w = worker();
    fleet.apply('hello', hello(1, 10));
    fleet.apply('worker.snapshot', snapshot(w));
    const data = note(w, { reason: 'manual', paused_at: w.updated_at, idle_minutes: null, status: 'stopping' });
    assert.deepEqual(fleet.apply('worker.paused', frame(data, 11)), { kind: 'changed', ids: [w.id] });
    assert.equal(fleet.get(w.id).status, 'stopping');
    assert.equal(fleet.position, 11);
  });

  it('a replayed notification it already has changes nothing', () => {
    const fleet = new Fleet();
    const w = worker();
    fleet.apply('hello', hello(1, 10));
    fleet.apply('worker.snapshot', snapshot(w));
    const data = note(w, { previous_status: 'running', status: 'stopped' }, { version: w.version });
    assert.equal(fleet.apply('worker.status.changed', frame(data, 9)).kind, 'none');
  });

  it('a snapshot older than what it applied is ignored', () => {
    const fleet = new Fleet();
    const w = worker();
    fleet.apply('hello', hello(1, 10));
    fleet.apply('worker.snapshot', snapshot(w));
    fleet.apply('worker.stop.requested', frame(note(w, { status: 'stopping' }), 11));
    assert.equal(fleet.apply('worker.snapshot', snapshot(w, 10)).kind, 'none');
    assert.equal(fleet.get(w.id).status, 'stopping');
  });

  it('a resync replaces the whole fleet: workers gone meanwhile disappear', () => {
    const fleet = new Fleet();
    const [a, b] = [worker(), worker()];
    fleet.apply('hello', hello(2, 10));
    fleet.apply('worker.snapshot', snapshot(a));
    fleet.apply('worker.snapshot', snapshot(b));
    fleet.apply('stream.resync', { data: { reason: 'gap_too_large', position: 500, workers: 1 } });
    assert.equal(fleet.get(a.id).id, a.id, 'the old copy stays until the fresh one is complete');
    const fresher = { ...b, version: 3, status: 'stopped' };
    assert.equal(fleet.apply('worker.snapshot', snapshot(fresher, 500)).kind, 'reset');
    assert.deepEqual([...fleet.all()].map((w) => [w.id, w.status]), [[b.id, 'stopped']]);
    assert.equal(fleet.position, 500);
  });

  it('a live frame after the announced snapshots completes the load first', () => {
    const fleet = new Fleet();
    const w = worker();
    fleet.apply('hello', hello(2, 10));
    fleet.apply('worker.snapshot', snapshot(w));
    const result = fleet.apply('worker.stop.requested', frame(note(w, { status: 'stopping' }), 11));
    assert.equal(result.kind, 'reset');
    assert.equal(fleet.get(w.id).status, 'stopping');
  });
});

describe('a dashboard that sees some teams', () => {
  it('drops a worker moved to a team out of sight, and keeps one moved within sight', () => {
    const fleet = new Fleet();
    fleet.teams = ['red', 'blue'];
    const [a, b] = [worker({ team: 'red' }), worker({ team: 'red' })];
    fleet.apply('hello', hello(2, 10));
    fleet.apply('worker.snapshot', snapshot(a));
    fleet.apply('worker.snapshot', snapshot(b));

    const away = fleet.apply('worker.team.changed', frame(note(a, { team: 'green', previous: 'red' }), 11));
    const within = fleet.apply('worker.team.changed', frame(note(b, { team: 'blue', previous: 'red' }), 12));

    assert.equal(away.kind, 'reset');
    assert.equal(fleet.get(a.id), undefined);
    assert.deepEqual(within, { kind: 'changed', ids: [b.id] });
    assert.equal(fleet.get(b.id).team, 'blue');
    assert.equal(fleet.position, 12);
  });

  it('keeps every worker when it sees all of them', () => {
    const fleet = new Fleet();
    const a = worker({ team: 'red' });
    fleet.apply('hello', hello(1, 10));
    fleet.apply('worker.snapshot', snapshot(a));

    fleet.apply('worker.team.changed', frame(note(a, { team: null, previous: 'red' }), 11));

    assert.equal(fleet.get(a.id).team, null);
  });
});
