import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  autoPauseHours, isPaused, matches, NO_FILTER, regions, summarize, visibleWorkers,
} from '../../src/infrastructure/http/web/static/js/filters.mjs';
import { at, T0, worker } from './fixtures.mjs';

const now = Date.parse(T0);
const pausedWorker = (overrides = {}) => worker({ status: 'stopped', last_paused_at: at(-30),
  auto_pause_count: 1, pause_history: [{ paused_at: at(-30), reason: 'idle_timeout', actor: 'idle-job',
    idle_minutes: 61, resumed_at: null, resume_reason: null, resumed_by: null }], ...overrides });

describe('which workers show', () => {
  it('a stopped worker is paused only when no resume followed its pause', () => {
    assert.equal(isPaused(pausedWorker()), true);
    assert.equal(isPaused(pausedWorker({ last_resumed_at: at(-10) })), false);
    assert.equal(isPaused(worker({ status: 'stopped' })), false);
    assert.equal(isPaused(pausedWorker({ status: 'running' })), false);
  });

  it('filters by status (or paused), region and words in name, ids, addresses or tags', () => {
    const w = worker({ name: 'ospf-study', region: 'us-west-2', tags: { team: 'training' } });
    assert.equal(matches(w, NO_FILTER), true);
    assert.equal(matches(w, { ...NO_FILTER, status: 'running' }), true);
    assert.equal(matches(w, { ...NO_FILTER, status: 'stopped' }), false);
    assert.equal(matches(w, { ...NO_FILTER, status: 'paused' }), false);
    assert.equal(matches(pausedWorker(), { ...NO_FILTER, status: 'paused' }), true);
    assert.equal(matches(w, { ...NO_FILTER, region: 'eu-west-1' }), false);
    assert.equal(matches(w, { ...NO_FILTER, text: 'OSPF team=training' }), true);
    assert.equal(matches(w, { ...NO_FILTER, text: '3.3.3.3' }), true);
    assert.equal(matches(w, { ...NO_FILTER, text: 'bgp' }), false);
  });

  it('sorts by a column, unknown values last, ties by name', () => {
    const a = worker({ name: 'a', cpu_percent: 10 });
    const b = worker({ name: 'b', cpu_percent: null });
    const c = worker({ name: 'c', cpu_percent: 90 });
    const d = worker({ name: 'd', cpu_percent: 90 });
    const order = (sort) => visibleWorkers([a, b, c, d], NO_FILTER, sort).map((w) => w.name);
    assert.deepEqual(order({ key: 'cpu', descending: true }), ['c', 'd', 'a', 'b']);
    assert.deepEqual(order({ key: 'cpu', descending: false }), ['a', 'c', 'd', 'b']);
    assert.deepEqual(order({ key: 'name', descending: true }), ['d', 'c', 'b', 'a']);
  });

  it('regions present, sorted', () => {
    assert.deepEqual(regions([worker({ region: 'us-east-1' }), worker({ region: 'eu-west-1' }),
      worker({ region: 'us-east-1' })]), ['eu-west-1', 'us-east-1']);
  });
});

describe('the fleet summary', () => {
  it('counts running, paused and stopped workers, leaving terminated ones out', () => {
    const s = summarize([worker(), worker(), pausedWorker(), worker({ status: 'stopped' }),
      worker({ status: 'starting' }), worker({ status: 'terminated' })], now);
    assert.deepEqual([s.total, s.running, s.paused, s.stopped, s.busy, s.terminated], [5, 2, 1, 1, 1, 1]);
  });

  it('adds up the hours auto-pause kept workers stopped, open pauses up to now', () => {
    const closed = { paused_at: at(-300), reason: 'idle_timeout', actor: 'idle-job', idle_minutes: 60,
      resumed_at: at(-180), resume_reason: 'manual', resumed_by: 'ada' };
    const manual = { ...closed, reason: 'manual' };
    const w = pausedWorker({ pause_history: [closed, manual, pausedWorker().pause_history[0]] });
    assert.equal(autoPauseHours(w, now), 2.5);
    assert.equal(summarize([w], now).autoPauseHours, 2.5);
  });

  it('counts workers whose auto-pause is due within the hour', () => {
    const soon = worker({ auto_pause_due_at: at(30) });
    const later = worker({ auto_pause_due_at: at(120) });
    assert.equal(summarize([soon, later], now).idleSoon, 1);
  });
});
