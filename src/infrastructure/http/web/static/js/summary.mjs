/** The fleet summary tiles: counts from the fleet, money saved from the server. */

import { getJson } from './api.mjs';
import { setText } from './dom.mjs';
import { summarize } from './filters.mjs';
import { hours, money } from './format.mjs';

const $ = (sel) => document.querySelector(sel);
const ASK_EVERY_MS = 60_000;

export class Summary {
  constructor(fleet, now) {
    this.fleet = fleet;
    this.now = now;
    this.askedAt = 0;
  }

  /** Recount (each second: "due within the hour" moves with time). */
  paint() {
    const s = summarize(this.fleet.all(), this.now());
    const tiles = { total: s.total, running: s.running, paused: s.paused,
      stopped: s.stopped + s.busy + s.failed, 'idle-soon': s.idleSoon, 'auto-pauses': s.autoPauses,
      'hours-saved': hours(s.autoPauseHours) };
    for (const [key, value] of Object.entries(tiles)) setText($(`[data-summary="${key}"]`), String(value));
  }

  /**
   * Money saved needs the prices the server knows: shown from `/api/fleet/summary`'s
   * `cost` (`saved_cost`, `currency`). Asked at start and again after
   * pauses and resumes, at most once a minute.
   */
  async ask({ soon = false } = {}) {
    if (soon && this.now() - this.askedAt < ASK_EVERY_MS) return;
    this.askedAt = this.now();
    const summary = await getJson('/api/fleet/summary').catch(() => null);
    const cost = summary?.cost;
    if (typeof cost?.saved_cost !== 'number') return;
    $('#money-saved').hidden = false;
    setText($('[data-summary="money-saved"]'), money(cost.saved_cost, cost.currency ?? 'USD'));
  }
}
