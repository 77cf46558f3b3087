import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { HealthBanner, problemsText } from '../../src/infrastructure/http/web/static/js/health.mjs';

describe('the health banner', () => {
  it('says nothing when the server lists no problem', () => {
    assert.equal(problemsText({ status: 'ready', problems: [] }), null);
    assert.equal(problemsText({ status: 'starting' }), null);
    assert.equal(problemsText(null), null);
  });

  it('names each failing check and how it fails', () => {
    const text = problemsText({ status: 'degraded', problems: [
      { check: 'region:eu-west-1', detail: 'EC2/CloudWatch failed 3 times in a row' },
      { check: 'job:metrics', detail: 'failed 4 times in a row' }] });
    assert.match(text, /region:eu-west-1: EC2\/CloudWatch failed 3 times in a row/);
    assert.match(text, /job:metrics: failed 4 times/);
    assert.match(text, /the rest of the fleet carries on/);
  });

  it('shows the banner while problems last and hides it once they are gone', async () => {
    const element = { hidden: true, textContent: '' };
    const answers = [{ problems: [{ check: 'operations', detail: 'stuck' }] }, { problems: [] }];
    const banner = new HealthBanner(element, { fetchJson: async () => answers.shift() });
    await banner.poll();
    assert.equal(element.hidden, false);
    assert.match(element.textContent, /operations: stuck/);
    await banner.poll();
    assert.equal(element.hidden, true);
  });

  it('leaves the banner as it is when the server does not answer', async () => {
    const element = { hidden: true, textContent: '' };
    const banner = new HealthBanner(element, { fetchJson: async () => { throw new Error('down'); } });
    await banner.poll();
    assert.equal(element.hidden, true);
  });
});
