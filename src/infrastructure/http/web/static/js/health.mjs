/**
 * The health banner: what keeps failing in the server (a region whose EC2 does not
 * answer, a job whose cycles fail, operations that do not progress), from `/readyz`.
 * `problemsText` is pure (node's tests import it); `HealthBanner` polls and paints.
 */

import { setText } from './dom.mjs';

export const HEALTH_POLL_MS = 30_000;

/** One line for the banner, or `null` when all is well (or the answer says nothing). */
export function problemsText(body) {
  const problems = Array.isArray(body?.problems) ? body.problems : [];
  if (problems.length === 0) return null;
  const lines = problems.map((p) => `${p.check}: ${p.detail}`);
  return `Something keeps failing; the rest of the fleet carries on. ${lines.join(' · ')}`;
}

export class HealthBanner {
  constructor(element, { fetchJson = defaultFetch, every = HEALTH_POLL_MS } = {}) {
    Object.assign(this, { element, fetchJson, every });
  }

  start() {
    this.poll();
    this.timer = setInterval(() => this.poll(), this.every);
  }

  async poll() {
    let text = null;
    try {
      text = problemsText(await this.fetchJson('/readyz'));
    } catch {
      return; // the stream's own indicator says when the server is away
    }
    this.element.hidden = text === null;
    setText(this.element, text ?? '');
  }
}

async function defaultFetch(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  return response.json(); // 503 (starting, behind) has a body too; it lists no problems
}
