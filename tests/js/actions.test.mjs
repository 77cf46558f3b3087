import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ACTIONS, allowedActions, can } from '../../src/infrastructure/http/web/static/js/actions.mjs';
import { at, worker } from './fixtures.mjs';

const paused = worker({ status: 'stopped', last_paused_at: at(-5) });

describe('what each role may do', () => {
  it('roles include the roles below them', () => {
    assert.equal(can('admin', 'operator'), true);
    assert.equal(can('operator', 'admin'), false);
    assert.equal(can('viewer', 'viewer'), true);
    assert.equal(can(undefined, 'viewer'), false);
  });

  it('a viewer may do nothing', () => {
    for (const w of [worker(), paused, worker({ status: 'stopped' })]) {
      assert.deepEqual(allowedActions(w, 'viewer'), []);
    }
  });

  it('an operator pauses or stops a running worker, but may not terminate or license', () => {
    assert.deepEqual(allowedActions(worker(), 'operator'), ['pause', 'stop', 'idle']);
    assert.deepEqual(allowedActions(worker(), 'operator', { quickOnly: true }), ['pause']);
  });

  it('a paused worker is resumed, a stopped one started', () => {
    assert.deepEqual(allowedActions(paused, 'operator', { quickOnly: true }), ['resume']);
    assert.deepEqual(allowedActions(worker({ status: 'stopped' }), 'operator', { quickOnly: true }), ['start']);
  });

  it('an admin may also terminate, release, set the team and manage the license, as its state allows', () => {
    assert.deepEqual(allowedActions(worker(), 'admin'),
      ['pause', 'stop', 'terminate', 'release', 'idle', 'team', 'unlicense']);
    assert.ok(!allowedActions(worker(), 'operator').includes('team'));
    const unlicensed = worker({ license_status: 'unregistered' });
    assert.ok(allowedActions(unlicensed, 'admin').includes('license'));
    assert.deepEqual(allowedActions(worker({ status: 'terminated' }), 'admin'), []);
    assert.deepEqual(allowedActions(worker({ status: 'released' }), 'admin'), []);
  });

  it('a worker stuck terminating can still be released, by an admin only, with a reason', () => {
    const stuck = worker({ status: 'terminating', name: 'broken-region' });
    assert.deepEqual(allowedActions(stuck, 'admin'), ['release']);
    assert.deepEqual(allowedActions(stuck, 'operator'), []);
    assert.match(ACTIONS.release.confirm(stuck), /broken-region/);
    assert.match(ACTIONS.release.body(stuck).reason, /terminating/);
  });

  it('destructive actions ask first, naming the worker', () => {
    const w = worker({ name: 'evpn-lab' });
    for (const name of ['terminate', 'stop', 'unlicense', 'release']) {
      assert.match(ACTIONS[name].confirm(w), /evpn-lab/);
    }
    assert.equal(ACTIONS.pause.confirm, undefined);
  });

  it('commands go to the API paths of the route table', () => {
    const w = worker();
    assert.equal(ACTIONS.pause.path(w), `/api/workers/${w.id}/pause`);
    assert.deepEqual([ACTIONS.idle.method, ACTIONS.idle.path(w)], ['PUT', `/api/workers/${w.id}/idle-detection`]);
    assert.deepEqual([ACTIONS.unlicense.method, ACTIONS.unlicense.path(w)], ['DELETE', `/api/workers/${w.id}/license`]);
    assert.deepEqual([ACTIONS.release.method, ACTIONS.release.path(w)], ['POST', `/api/workers/${w.id}/release`]);
  });
});
