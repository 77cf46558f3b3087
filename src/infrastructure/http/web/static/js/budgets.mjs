/**
 * Budgets and the running cost per day this month, under the summary: each budget's
 * spend against its amount with the month's forecast (`GET /api/budgets`), and a bar per
 * day (`GET /api/fleet/daily-costs`, the workers you see). Read at start, each minute, when
 * a `budget.changed` or `budget.threshold.reached` frame comes and when the stream reconnects.
 */
import { getJson } from './api.mjs';
import { h, setText } from './dom.mjs';
import { money } from './format.mjs';

const REFRESH_MS = 60_000;
const SVG = 'http://www.w3.org/2000/svg';

/** `red (team red): $812.40 of $1,000.00 (81%), forecast $1,020.00 — enforced`. */
export function budgetLine(b) {
  const scope = b.scope === 'fleet' ? 'the fleet' : b.scope.replace(':', ' ');
  const enforce = b.enforce ? (b.lifted_by ? ' — enforcement lifted this month' : ' — enforced') : '';
  return `${b.name} (${scope}): ${money(b.spend, b.currency)} of ${money(b.amount, b.currency)} `
    + `(${Math.round(b.percent)}%), forecast ${money(b.forecast, b.currency)}${enforce}`;
}

/** A toast's words: `Budget red reached 80 %: $812.40 of $1,000.00 in 2026-12.` */
export function thresholdText(d) {
  return `Budget ${d.budget} reached ${d.threshold} %: ${money(d.spend, d.currency)} of `
    + `${money(d.amount, d.currency)} in ${d.month}${d.enforce && d.threshold >= 100 ? ', enforced' : ''}.`;
}

/** `ok`, `warn` (forecast over the amount) or `bad` (spent it). */
export function budgetTone(b) {
  if (b.spend >= b.amount) return 'bad';
  return b.forecast > b.amount ? 'warn' : 'ok';
}

/** Bars of a chart `height` high: `{day, cost, height}` scaled to the dearest day. */
export function bars(days, height) {
  const top = Math.max(0, ...days.map((d) => d.cost));
  return days.map((d) => ({ ...d, height: top > 0 ? (d.cost / top) * height : 0 }));
}

export class BudgetPanel {
  constructor(root, fetch = getJson) {
    Object.assign(this, { root, fetch });
    this.timer = null;
  }

  start() {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  async refresh() {
    const [budgets, daily] = await Promise.all([
      this.fetch('/api/budgets').catch(() => null),
      this.fetch('/api/fleet/daily-costs').catch(() => null),
    ]);
    if (budgets) this.paintBudgets(budgets.items);
    if (daily) this.paintDaily(daily);
  }

  paintBudgets(items) {
    const list = this.root.querySelector('#budget-list');
    list.replaceChildren(...items.map((b) => h('li', { class: `budget tone-${budgetTone(b)}`, dataset: { budget: b.name } },
      h('span', { class: 'budget-text' }, budgetLine(b)),
      h('meter', { min: 0, max: b.amount, value: Math.min(b.spend, b.amount), 'aria-label': `${b.name} spend` }))));
    this.root.querySelector('#budget-none').hidden = items.length > 0;
  }

  paintDaily(daily) {
    setText(this.root.querySelector('#daily-total'), `${money(daily.total, daily.currency)} this month`);
    const svg = this.root.querySelector('#daily-chart');
    const [width, height] = [Math.max(1, daily.days.length) * 14, 60];
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.replaceChildren(...bars(daily.days, height - 2).map((d, i) => {
      const bar = document.createElementNS(SVG, 'rect');
      bar.setAttribute('x', String(i * 14 + 2));
      bar.setAttribute('y', String(height - d.height));
      bar.setAttribute('width', '10');
      bar.setAttribute('height', String(Math.max(d.height, 0.5)));
      bar.dataset.day = d.day;
      const title = document.createElementNS(SVG, 'title');
      title.textContent = `${d.day}: ${money(d.cost, daily.currency)}`;
      bar.append(title);
      return bar;
    }));
  }
}
