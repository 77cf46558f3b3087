import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { bars, budgetLine, budgetTone, thresholdText } from '../../src/infrastructure/http/web/static/js/budgets.mjs';

const red = {
  name: 'red', amount: 1000, scope: 'team:red', spend: 812.4, forecast: 1020, percent: 81.2,
  currency: 'USD', enforce: true, lifted_by: null,
};

describe('budgets on the dashboard', () => {
  it('says spend against amount, the forecast and whether it is enforced', () => {
    assert.equal(budgetLine(red),
      'red (team red): $812.40 of $1,000.00 (81%), forecast $1,020.00 — enforced');
    assert.equal(budgetLine({ ...red, scope: 'fleet', enforce: false }).split(':')[0], 'red (the fleet)');
    assert.match(budgetLine({ ...red, lifted_by: 'ada' }), /enforcement lifted this month$/);
  });

  it('warns when the forecast passes the amount, alarms once it is spent', () => {
    assert.equal(budgetTone({ ...red, forecast: 900 }), 'ok');
    assert.equal(budgetTone(red), 'warn');
    assert.equal(budgetTone({ ...red, spend: 1000 }), 'bad');
  });

  it('scales the bars to the dearest day; a month with no cost has flat bars', () => {
    const days = [{ day: '2026-12-01', cost: 5 }, { day: '2026-12-02', cost: 10 }];
    assert.deepEqual(bars(days, 60).map((b) => b.height), [30, 60]);
    assert.deepEqual(bars([{ day: '2026-12-01', cost: 0 }], 60).map((b) => b.height), [0]);
  });

  it('a threshold reached is told in words, enforcement at 100 % named', () => {
    const alert = { budget: 'red', threshold: 80, spend: 812.4, amount: 1000, currency: 'USD',
      month: '2026-12', enforce: true };
    assert.equal(thresholdText(alert), 'Budget red reached 80 %: $812.40 of $1,000.00 in 2026-12.');
    assert.equal(thresholdText({ ...alert, threshold: 100, spend: 1000 }),
      'Budget red reached 100 %: $1,000.00 of $1,000.00 in 2026-12, enforced.');
  });
});
