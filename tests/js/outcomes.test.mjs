import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { newCorrelationId, PendingCommands } from '../../src/infrastructure/http/web/static/js/outcomes.mjs';

describe('toasts for my own commands', () => {
  it('a frame carrying my command correlation id is its outcome', () => {
    const pending = new PendingCommands();
    pending.add('ui-1', { label: 'Pause', workerName: 'evpn-lab' }, 0);
    const toast = pending.outcome('worker.paused',
      { correlationid: 'ui-1', data: { reason: 'manual' } }, 'evpn-lab', 1000);
    assert.deepEqual(toast, { tone: 'ok', text: 'evpn-lab: Paused (manual)' });
  });

  it('changes made by someone else make no toast', () => {
    const pending = new PendingCommands();
    pending.add('ui-1', { label: 'Pause', workerName: 'a' }, 0);
    assert.equal(pending.outcome('worker.paused', { correlationid: 'job-9', data: {} }, 'a', 1), null);
    assert.equal(pending.outcome('worker.paused', { data: {} }, 'a', 1), null);
  });

  it('a failure recorded later for my command is an error toast', () => {
    const pending = new PendingCommands();
    pending.add('ui-2', { label: 'Register license', workerName: 'a' }, 0);
    const toast = pending.outcome('worker.license.registration.failed',
      { correlationid: 'ui-2', data: { reason: 'token rejected' } }, 'a', 60_000);
    assert.deepEqual(toast, { tone: 'error', text: 'a: License registration failed: token rejected' });
  });

  it('forgets commands after a while', () => {
    const pending = new PendingCommands(1000);
    pending.add('ui-3', { workerName: 'a' }, 0);
    assert.equal(pending.outcome('worker.paused', { correlationid: 'ui-3', data: {} }, 'a', 5000), null);
  });

  it('correlation ids are fresh and sane for the server', () => {
    const a = newCorrelationId();
    assert.match(a, /^ui-[0-9a-f-]{36}$/);
    assert.notEqual(a, newCorrelationId());
  });
});
