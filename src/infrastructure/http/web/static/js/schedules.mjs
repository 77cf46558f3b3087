/**
 * The office-hours schedules, as `GET /api/schedules` gives them (where each stands now),
 * and what a worker's schedule does next: "stops at 18:00, in 2 h 05 min" (the drawer's
 * sentence, and a short line in the worker's row). Read at start, each minute (a
 * schedule's next change moves on as time does) and when the stream reconnects; a
 * `schedule.changed` frame brings a change as it is made.
 */
import { getJson } from './api.mjs';
import { duration } from './format.mjs';
import { UP_STATUSES } from './rules.mjs';

const MINUTE = 60_000;
const REFRESH_MS = MINUTE;

/**
 * The next thing `schedule` does to worker `w`, or null: `{verb, at}` with `at` in ms.
 * Within hours an up worker stops (or pauses) at their end, unless an override keeps it
 * longer; outside them a stopped worker starts `lead_minutes` before the next.
 */
export function nextScheduled(w, schedule, nowMs) {
  if (!schedule || !schedule.next_change) return null;
  const change = Date.parse(schedule.next_change);
  const up = UP_STATUSES.includes(w.status);
  if (schedule.on_now && up) {
    const kept = w.schedule_override_until ? Date.parse(w.schedule_override_until) : null;
    if (kept !== null && kept > change) return { verb: 'kept running until', at: kept };
    return { verb: schedule.off === 'pause' ? 'pauses' : 'stops', at: change };
  }
  if (!schedule.on_now && w.status === 'stopped') {
    return { verb: 'starts', at: Math.max(nowMs, change - schedule.lead_minutes * MINUTE) };
  }
  return null;
}

/** `stops at 18:00, in 2 h 05 min` (the time in the schedule's own zone, named). */
export function scheduledText(next, schedule, nowMs) {
  if (next === null) return '';
  const clock = new Intl.DateTimeFormat('en-GB', {
    timeZone: schedule.timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date(next.at));
  const zone = schedule.timezone === 'UTC' ? 'UTC' : schedule.timezone;
  const left = next.at - nowMs;
  return `Schedule ${schedule.name}: ${next.verb} ${clock} ${zone}, ${left > 0 ? `in ${duration(left)}` : 'now'}.`;
}

/** The row's short line: `stops 18:00, in 2 h 05 min` (zone as the schedule's). */
export function shortText(next, schedule, nowMs) {
  if (next === null) return '';
  const clock = new Intl.DateTimeFormat('en-GB', {
    timeZone: schedule.timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date(next.at));
  const left = next.at - nowMs;
  return `${next.verb} ${clock}, ${left > 0 ? `in ${duration(left)}` : 'now'}`;
}

export class Schedules {
  constructor(fetch = () => getJson('/api/schedules')) {
    this.fetch = fetch;
    this.byName = new Map();
    this.timer = null;
    this.onChange = () => {};
  }

  async refresh() {
    try {
      const answer = await this.fetch();
      this.byName = new Map(answer.items.map((s) => [s.name, s]));
      this.onChange();
    } catch {
      // keep what we had: the next refresh tries again
    }
  }

  start() {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  /** A `schedule.changed` frame's data: take its view (read it when it came without). */
  async changed(data) {
    if (data.change === 'removed') this.byName.delete(data.name);
    else if (data.schedule) this.byName.set(data.name, data.schedule);
    else return this.refresh();
    this.onChange();
    return undefined;
  }

  /** The worker's next scheduled action for its row ('' when none). */
  rowText(w, nowMs) {
    if (!w.schedule) return '';
    const schedule = this.byName.get(w.schedule);
    if (!schedule) return `no schedule named ${w.schedule}`;
    return shortText(nextScheduled(w, schedule, nowMs), schedule, nowMs);
  }

  /** The worker's next scheduled action, as a sentence ('' when none). */
  textFor(w, nowMs) {
    const schedule = w.schedule ? this.byName.get(w.schedule) : undefined;
    if (!schedule) return w.schedule ? `Schedule ${w.schedule} is not defined.` : '';
    return scheduledText(nextScheduled(w, schedule, nowMs), schedule, nowMs);
  }
}
