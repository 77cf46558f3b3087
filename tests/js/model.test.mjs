import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { applyNotification, applySnapshot, NOTIFICATION_TYPES, RECENT_ACTIVITY_LIMIT } from '../../src/infrastructure/http/web/static/js/model.mjs';
import { PAUSE_HISTORY_LIMIT, STATUS_AFTER } from '../../src/infrastructure/http/web/static/js/rules.mjs';
import { at, contractFields, note, T0, worker } from './fixtures.mjs';

const DEFAULTS = { timeout_minutes: 60, snooze_minutes: 30, enabled: true };
const ctx = (correlationId = 'ui-1') => ({ correlationId, defaults: DEFAULTS });

describe('a minimal notification changes the local worker at once', () => {
  it('a manual pause stops the worker, records the pause and ends the countdown', () => {
    const w = worker();
    const data = note(w, { reason: 'manual', paused_at: at(1), idle_minutes: null, status: 'stopping' });
    const next = applyNotification(w, 'worker.paused', data, ctx('ui-42'));
    assert.equal(next.status, 'stopping');
    assert.equal(next.status_changed_at, at(1));
    assert.equal(next.manual_pause_count, 1);
    assert.equal(next.last_paused_at, at(1));
    assert.deepEqual(next.pause_history.at(-1), { paused_at: at(1), reason: 'manual', actor: 'ada',
      idle_minutes: null, resumed_at: null, resume_reason: null, resumed_by: null });
    assert.equal(next.auto_pause_due_at, null);
    assert.equal(next.version, 6);
    assert.equal(next.last_actor, 'ada');
    assert.equal(next.last_correlation_id, 'ui-42');
    assert.equal(next.updated_at, at(1));
    assert.equal(w.status, 'running', 'the previous view is left untouched');
  });

  it('ignores a notification it has already applied, or an older one', () => {
    const w = worker({ version: 9 });
    for (const version of [8, 9]) {
      const data = note(w, { previous_status: 'running', status: 'stopped' }, { version });
      assert.equal(applyNotification(w, 'worker.status.changed', data, ctx()), w);
    }
  });

  it('ignores notifications about a worker it does not know, until it is created', () => {
    const w = worker();
    const changed = note(w, { previous_status: 'running', status: 'stopped' });
    assert.equal(applyNotification(undefined, 'worker.status.changed', changed, ctx()), undefined);
  });

  it('builds a complete view from worker.created, every contract field present', () => {
    const data = { worker_id: 'w-new', actor: 'ada', at: T0, version: 1, name: 'lab-new',
      region: 'us-east-1', instance_type: 'c5.2xlarge', ami_id: 'ami-0123456789abcdef0',
      launch_template: null, tags: { team: 'net' }, idle_detection_enabled: true,
      idle_timeout_minutes: null, status: 'pending' };
    const view = applyNotification(undefined, 'worker.created', data, ctx('ui-7'));
    const publicKeys = (v) => Object.keys(v).filter((k) => !k.startsWith('_')).sort();
    assert.deepEqual(publicKeys(view), contractFields());
    assert.equal(view.status, 'pending');
    assert.equal(view.idle_timeout_minutes, 60, 'null timeout: the fleet default');
    assert.equal(view.idle_timeout_overridden, false);
    assert.equal(view.created_by, 'ada');
    assert.equal(view.auto_pause_due_at, null, 'not running: no countdown');
  });

  it('has a rule for every notification type of the catalogue', () => {
    const w = worker();
    for (const type of NOTIFICATION_TYPES) {
      const data = { ...note(w, { status: null, enabled: true, timeout_minutes: null, operation: 'start', reason: 'x',
        license_status: 'registered', records: [], changes: {}, name: 'x', region: 'r',
        instance_type: 't', tags: {}, idle_detection_enabled: true }) };
      const base = type === 'worker.created' || type === 'worker.imported' ? undefined : w;
      const next = applyNotification(base, type, data, ctx());
      assert.equal(next?.version, w.version + 1, `${type} was not applied`);
    }
  });
});

describe('idle countdown follows the notifications', () => {
  it('switching idle detection off removes the countdown', () => {
    const w = worker();
    const next = applyNotification(w, 'worker.idle_detection.toggled',
      note(w, { enabled: false, timeout_minutes: null }), ctx());
    assert.equal(next.idle_detection_enabled, false);
    assert.equal(next.idle_since, null);
    assert.equal(next.auto_pause_due_at, null);
  });

  it('a shorter timeout brings the auto-pause closer; null goes back to the default', () => {
    const w = worker();
    const shorter = applyNotification(w, 'worker.idle_detection.timeout_changed',
      note(w, { timeout_minutes: 15 }), ctx());
    assert.equal(shorter.auto_pause_due_at, at(-45));
    assert.equal(shorter.idle_timeout_overridden, true);
    const back = applyNotification(shorter, 'worker.idle_detection.timeout_changed',
      note(shorter, { timeout_minutes: null }), ctx());
    assert.equal(back.idle_timeout_minutes, 60);
    assert.equal(back.idle_timeout_overridden, false);
    assert.equal(back.auto_pause_due_at, at(0));
  });

  it('a resume closes the open pause and opens the snooze period', () => {
    const w = worker({ status: 'stopped', last_paused_at: at(-10), manual_pause_count: 1,
      pause_history: [{ paused_at: at(-10), reason: 'manual', actor: 'ada', idle_minutes: null,
        resumed_at: null, resume_reason: null, resumed_by: null }] });
    const resumed = applyNotification(w, 'worker.resumed',
      note(w, { reason: 'manual', resumed_at: at(1), status: 'starting' }, { actor: 'bob' }), ctx());
    assert.equal(resumed.status, 'starting');
    assert.equal(resumed.resume_count, 1);
    assert.deepEqual(resumed.pause_history.at(-1).resumed_by, 'bob');
    const running = applyNotification(resumed, 'worker.status.changed',
      note(resumed, { previous_status: 'starting', status: 'running' }, { minutes: 2 }), ctx());
    assert.equal(running.idle_since, at(1));
    assert.equal(running.auto_pause_due_at, at(61), 'max(resume + timeout, resume + snooze)');
  });

  it('a worker that comes back up starts a new idle period from that moment', () => {
    let w = worker({ status: 'stopped', idle_since: null, auto_pause_due_at: null });
    const starting = STATUS_AFTER['worker.start.requested'];
    w = applyNotification(w, 'worker.start.requested', note(w, { status: starting }, { minutes: 1 }), ctx());
    assert.equal(w.auto_pause_due_at, null, 'no countdown until it runs');
    w = applyNotification(w, 'worker.status.changed',
      note(w, { previous_status: starting, status: 'running' }, { minutes: 3 }), ctx());
    assert.equal(w.idle_since, at(1));
    assert.equal(w.auto_pause_due_at, at(61));
  });

  it('keeps the idle start the server computed when only the timeout changes', () => {
    const w = worker({ idle_since: at(-10), auto_pause_due_at: at(50) });
    const next = applyNotification(w, 'worker.idle_detection.timeout_changed',
      note(w, { timeout_minutes: 30 }), ctx());
    assert.equal(next.idle_since, at(-10));
    assert.equal(next.auto_pause_due_at, at(20));
  });

  it('user activity moves the idle start', () => {
    const w = worker();
    const records = [{ at: at(3), kind: 'lab_started', detail: 'lab A' }];
    const next = applyNotification(w, 'worker.activity.recorded',
      note(w, { last_activity_at: at(3), records }), ctx());
    assert.equal(next.idle_since, at(3));
    assert.equal(next.auto_pause_due_at, at(63));
    assert.deepEqual(next.recent_activity, records);
  });

  it('keeps only the latest activities', () => {
    const w = worker();
    const records = Array.from({ length: 15 }, (_, i) => ({ at: at(i), kind: 'user_activity', detail: `${i}` }));
    const next = applyNotification(w, 'worker.activity.recorded',
      note(w, { last_activity_at: at(14), records }), ctx());
    assert.equal(next.recent_activity.length, RECENT_ACTIVITY_LIMIT);
    assert.equal(next.recent_activity.at(-1).detail, '14');
  });
});

describe('other notifications', () => {
  it('metrics: CML figures show at once (clamped), CloudWatch ones wait for the snapshot', () => {
    const w = worker();
    const next = applyNotification(w, 'worker.metrics.recorded', note(w, {
      changes: { cml_cpu_percent: 104.44, cw_memory_percent: 99, labs_count: 3 },
      recorded_at: at(1) }), ctx());
    assert.equal(next.cpu_percent, 100);
    assert.equal(next.memory_percent, 40);
    assert.equal(next.labs_count, 3);
    assert.equal(next.metrics_recorded_at, at(1));
  });

  it('license: the fingerprint on start, the reason on failure, cleared on deregistration', () => {
    let w = worker({ license_status: 'unregistered', license_token_fingerprint: null });
    w = applyNotification(w, 'worker.license.registration.started', note(w,
      { license_status: 'registering', license_token_fingerprint: 'sha256:abc' }), ctx());
    assert.equal(w.license_token_fingerprint, 'sha256:abc');
    w = applyNotification(w, 'worker.license.registration.failed', note(w,
      { license_status: 'failed', reason: 'token rejected' }), ctx());
    assert.deepEqual([w.license_status, w.license_detail], ['failed', 'token rejected']);
    w = applyNotification(w, 'worker.license.deregistration.completed', note(w,
      { license_status: 'unregistered' }), ctx());
    assert.equal(w.license_token_fingerprint, null);
  });

  it('license: a status seen on CML outside our operations (expired, deregistered elsewhere)', () => {
    const w = worker();
    const expired = applyNotification(w, 'worker.license.observed',
      note(w, { license_status: 'expired', license_detail: 'expired on 2026-03-01' }), ctx());
    assert.deepEqual([expired.license_status, expired.license_detail], ['expired', 'expired on 2026-03-01']);
    const gone = applyNotification(w, 'worker.license.observed',
      note(w, { license_status: 'unregistered', license_detail: null }), ctx());
    assert.equal(gone.license_token_fingerprint, null);
  });

  it('tags: added and removed, others kept', () => {
    const w = worker({ tags: { team: 'net', env: 'lab' } });
    const next = applyNotification(w, 'worker.tags.changed',
      note(w, { added: { owner: 'bob' }, removed: ['team'] }), ctx());
    assert.deepEqual(next.tags, { env: 'lab', owner: 'bob' });
  });

  it('a cloud operation that failed for good leaves the status EC2 reports, and says why', () => {
    const w = worker({ status: 'starting' });
    const next = applyNotification(w, 'worker.operation.failed',
      note(w, { operation: 'start', reason: 'InsufficientInstanceCapacity', status: 'stopped' }), ctx());
    assert.equal(next.status, 'stopped');
    assert.equal(next.last_operation_error, 'start: InsufficientInstanceCapacity');
  });

  it('termination', () => {
    const w = worker();
    const next = applyNotification(w, 'worker.terminated',
      note(w, { status: 'terminated', terminated_at: at(2) }), ctx());
    assert.deepEqual([next.status, next.terminated_at], ['terminated', at(2)]);
  });
});

describe('snapshots', () => {
  it('replace the local worker, without the position they reflect', () => {
    const w = worker();
    const snapshot = { ...worker({ id: w.id, version: 7, cpu_percent: 80 }), position: 123 };
    const next = applySnapshot(w, snapshot);
    assert.equal(next.cpu_percent, 80);
    assert.equal('position' in next, false);
  });

  it('of the same version replace it too (they bring derived fields)', () => {
    const w = worker({ version: 7, cpu_percent: 10 });
    assert.equal(applySnapshot(w, { ...w, cpu_percent: 55, position: 1 }).cpu_percent, 55);
  });

  it('older than the local worker are ignored', () => {
    const w = worker({ version: 7 });
    assert.equal(applySnapshot(w, { ...w, version: 6, status: 'stopped', position: 1 }), w);
  });
});

describe('the domain rules the dashboard reads (generated from the server)', () => {
  it('keeps only the newest pauses, as many as the domain says', () => {
    let w = worker({ status: 'running', pause_history: [] });
    for (let n = 0; n < PAUSE_HISTORY_LIMIT + 3; n += 1) {
      w = applyNotification(w, 'worker.paused', note(w, { reason: 'manual', paused_at: at(n),
        idle_minutes: null, status: STATUS_AFTER['worker.stop.requested'] }, { version: w.version + 1 }), ctx());
    }
    assert.equal(w.pause_history.length, PAUSE_HISTORY_LIMIT);
    assert.equal(w.pause_history.at(-1).paused_at, at(PAUSE_HISTORY_LIMIT + 2));
    assert.equal(w.manual_pause_count, PAUSE_HISTORY_LIMIT + 3);
  });
});
