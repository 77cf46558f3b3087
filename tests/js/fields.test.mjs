import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { fieldGroups } from '../../src/infrastructure/http/web/static/js/fields.mjs';
import { contractFields, worker } from './fixtures.mjs';

describe('the worker drawer', () => {
  it('shows every field of the public worker view, once', () => {
    const shown = fieldGroups(worker()).flatMap((g) => g.rows.flatMap((r) => r.fields));
    assert.deepEqual([...shown].sort(), contractFields());
  });

  it('groups them as AWS, CML, monitoring and license (and more)', () => {
    const titles = fieldGroups(worker()).map((g) => g.title);
    for (const title of ['AWS', 'CML', 'Monitoring', 'License']) assert.ok(titles.includes(title));
  });

  it('lists pauses newest first, saying who and why', () => {
    const w = worker({ pause_history: [
      { paused_at: '2026-03-02T07:00:00.000Z', reason: 'manual', actor: 'ada', idle_minutes: null,
        resumed_at: '2026-03-02T07:30:00.000Z', resume_reason: 'manual', resumed_by: 'bob' },
      { paused_at: '2026-03-02T08:00:00.000Z', reason: 'idle_timeout', actor: 'idle-job',
        idle_minutes: 61, resumed_at: null, resume_reason: null, resumed_by: null },
    ] });
    const row = fieldGroups(w).flatMap((g) => g.rows).find((r) => r.label === 'Pause history');
    assert.equal(row.items.length, 2);
    assert.match(row.items[0], /idle timeout after 61 min idle by idle-job → still paused/);
    assert.match(row.items[1], /manual by ada → resumed .* by bob/);
  });
});
