import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  nextScheduled, scheduledText, Schedules, shortText,
} from '../../src/infrastructure/http/web/static/js/schedules.mjs';
import { worker } from './fixtures.mjs';

const NOW = Date.parse('2026-12-07T14:55:00Z'); // 15:55 in Amsterdam, a Monday
const office = {
  name: 'office', timezone: 'Europe/Amsterdam', off: 'stop', lead_minutes: 15,
  on_now: true, next_change: '2026-12-07T17:00:00.000Z',
};

describe("a worker's next scheduled action", () => {
  it('within hours a running worker stops at their end, said in the schedule\'s zone', () => {
    const w = worker({ status: 'running', schedule: 'office' });
    const next = nextScheduled(w, office, NOW);
    assert.deepEqual(next, { verb: 'stops', at: Date.parse('2026-12-07T17:00:00Z') });
    assert.equal(scheduledText(next, office, NOW),
      'Schedule office: stops 18:00 Europe/Amsterdam, in 2 h 05 min.');
  });

  it('a pausing schedule pauses; an override keeps it running longer', () => {
    const w = worker({ status: 'running', schedule: 'office' });
    assert.equal(nextScheduled(w, { ...office, off: 'pause' }, NOW).verb, 'pauses');
    const kept = { ...w, schedule_override_until: '2026-12-07T20:00:00.000Z' };
    assert.deepEqual(nextScheduled(kept, office, NOW),
      { verb: 'kept running until', at: Date.parse('2026-12-07T20:00:00Z') });
  });

  it('outside hours a stopped worker starts its lead time before the next', () => {
    const w = worker({ status: 'stopped', schedule: 'office' });
    const night = { ...office, on_now: false, next_change: '2026-12-08T07:00:00.000Z' };
    const next = nextScheduled(w, night, NOW);
    assert.deepEqual(next, { verb: 'starts', at: Date.parse('2026-12-08T06:45:00Z') });
    assert.match(scheduledText(next, night, NOW), /^Schedule office: starts 07:45 Europe\/Amsterdam, in 15 h 50 min\.$/);
  });

  it('nothing is said of a worker with no schedule, or one the schedule leaves alone', () => {
    assert.equal(nextScheduled(worker({ status: 'stopped' }), office, NOW), null);
    assert.equal(nextScheduled(worker({ status: 'running' }), { ...office, on_now: false }, NOW), null);
  });

  it('the list names a schedule that is not defined, and keeps what it had on a failed refresh', async () => {
    let answer = { items: [office] };
    const schedules = new Schedules(async () => {
      if (answer === null) throw new Error('offline');
      return answer;
    });
    await schedules.refresh();
    answer = null;
    await schedules.refresh();
    const w = worker({ status: 'running', schedule: 'office' });
    assert.match(schedules.textFor(w, NOW), /stops 18:00/);
    assert.equal(schedules.textFor({ ...w, schedule: 'nights' }, NOW), 'Schedule nights is not defined.');
    assert.equal(schedules.textFor({ ...w, schedule: null }, NOW), '');
  });

  it("the row's short line says the same in fewer words", async () => {
    const schedules = new Schedules(async () => ({ items: [office] }));
    await schedules.refresh();
    const w = worker({ status: 'running', schedule: 'office' });
    assert.equal(schedules.rowText(w, NOW), 'stops 18:00, in 2 h 05 min');
    assert.equal(shortText(nextScheduled(w, office, NOW), office, Date.parse(office.next_change)), 'stops 18:00, now');
    assert.equal(schedules.rowText({ ...w, schedule: 'nights' }, NOW), 'no schedule named nights');
    assert.equal(schedules.rowText({ ...w, schedule: null }, NOW), '');
  });

  it('a schedule.changed frame takes effect at once; without its view the list is read again', async () => {
    let reads = 0;
    const schedules = new Schedules(async () => {
      reads += 1;
      return { items: [{ ...office, off: 'pause' }] };
    });
    let changes = 0;
    schedules.onChange = () => { changes += 1; };
    const w = worker({ status: 'running', schedule: 'office' });

    await schedules.changed({ name: 'office', change: 'saved', schedule: office });
    assert.equal(schedules.rowText(w, NOW), 'stops 18:00, in 2 h 05 min');
    await schedules.changed({ name: 'office', change: 'removed', schedule: null });
    assert.equal(schedules.rowText(w, NOW), 'no schedule named office');
    assert.equal(reads, 0);
    await schedules.changed({ name: 'office', change: 'saved', schedule: null });  // too large to relay
    assert.equal(reads, 1);
    assert.equal(schedules.rowText(w, NOW), 'pauses 18:00, in 2 h 05 min');
    assert.equal(changes, 3);
  });
});
