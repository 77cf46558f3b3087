import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  countdown, dateTime, describeEvent, duration, hours, licenseTone, meterTone, money, percent,
  relativeTime, statusTone, words,
} from '../../src/infrastructure/http/web/static/js/format.mjs';
import { at, T0 } from './fixtures.mjs';

const now = Date.parse(T0);

describe('formatting for people', () => {
  it('percentages are whole numbers; unknown is a dash', () => {
    assert.equal(percent(42.6), '43%');
    assert.equal(percent(0), '0%');
    assert.equal(percent(null), '—');
  });

  it('durations use two units at most', () => {
    assert.equal(duration(12_400), '12 s');
    assert.equal(duration(4 * 60_000 + 5_000), '4 min');
    assert.equal(duration(65 * 60_000), '1 h 05 min');
    assert.equal(duration(52 * 3_600_000), '2 d 4 h');
  });

  it('the idle countdown: mm:ss under an hour, urgent under five minutes, then due', () => {
    assert.deepEqual(countdown(at(12.5), now), { text: '12:30', seconds: 750, urgent: false });
    assert.equal(countdown(at(4), now).urgent, true);
    assert.equal(countdown(at(125), now).text, '2 h 05 min');
    assert.deepEqual(countdown(at(-1), now), { text: 'due', seconds: 0, urgent: true });
    assert.equal(countdown(null, now).text, '—');
  });

  it('relative times', () => {
    assert.equal(relativeTime(at(-5), now), '5 min ago');
    assert.equal(relativeTime(at(0), now + 3000), 'just now');
    assert.equal(relativeTime(at(90), now), 'in 1 h 30 min');
  });

  it('dates in a fixed layout and the time zone asked for', () => {
    assert.equal(dateTime('2026-03-02T09:01:05.000Z', 'UTC'), '2026-03-02 09:01:05');
    assert.equal(dateTime('2026-03-02T09:01:05.000Z', 'Europe/Paris'), '2026-03-02 10:01:05');
    assert.equal(dateTime(null), '—');
  });

  it('words, hours and money', () => {
    assert.equal(words('idle_timeout'), 'idle timeout');
    assert.equal(hours(12.345), '12.3 h');
    assert.equal(hours(1234.5), '1,235 h');
    assert.equal(money(1234.5), '$1,234.50');
  });

  it('badge and meter tones', () => {
    assert.equal(statusTone('running'), 'ok');
    assert.equal(statusTone('failed'), 'bad');
    assert.equal(statusTone('something-new'), 'muted');
    assert.equal(licenseTone('expired'), 'bad');
    assert.deepEqual([meterTone(null), meterTone(50), meterTone(75), meterTone(95)],
      ['muted', 'ok', 'warn', 'bad']);
  });
});

describe('history lines say what happened', () => {
  it('pauses, status changes, license failures, tags, metrics', () => {
    assert.equal(describeEvent('worker.paused', { reason: 'idle_timeout', idle_minutes: 61.2 }),
      'Paused (idle timeout, idle 61 min)');
    assert.equal(describeEvent('worker.status.changed', { previous_status: 'stopping', status: 'stopped' }),
      'Status stopping → stopped');
    assert.equal(describeEvent('worker.license.registration.failed', { reason: 'token rejected' }),
      'License registration failed: token rejected');
    assert.equal(describeEvent('worker.tags.changed', { added: { owner: 'bob' }, removed: ['team'] }),
      'Tags +owner=bob −team');
    assert.equal(describeEvent('worker.metrics.recorded', { changes: { cml_cpu_percent: 42, labs_count: 2 } }),
      'Metrics: CPU 42%, labs 2');
    assert.equal(describeEvent('worker.something_new', {}), 'worker.something new');
  });
});
