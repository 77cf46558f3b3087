import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { matches, NO_FILTER } from '../../src/infrastructure/http/web/static/js/filters.mjs';
import { describeEvent } from '../../src/infrastructure/http/web/static/js/format.mjs';
import {
  downloadPath, LAB_ACTIONS, labActions, labRow, workersWithLabsOf,
} from '../../src/infrastructure/http/web/static/js/labs.mjs';
import { worker } from './fixtures.mjs';

const NOW = Date.parse('2026-03-02T09:00:00Z');

function lab(fields = {}) {
  return { lab_id: '90f84e38-a71c-4d57-8d90-00fa8a197385', title: 'OSPF areas', state: 'STOPPED',
    owner_username: 'alice', node_count: 4, running_nodes: 0, created: '2026-02-28T09:00:00Z',
    ...fields };
}

describe('what each role may do to a lab', () => {
  it('a viewer may only look and download', () => {
    for (const state of ['STARTED', 'STOPPED', 'DEFINED_ON_CORE']) {
      assert.deepEqual(labActions(lab({ state }), 'viewer'), []);
    }
    assert.equal(downloadPath('w-1', lab()),
      '/api/workers/w-1/labs/90f84e38-a71c-4d57-8d90-00fa8a197385/download');
  });

  it('an operator starts, stops and wipes in the states CML takes them; an admin also deletes', () => {
    assert.deepEqual(labActions(lab({ state: 'STARTED' }), 'operator'), ['stop']);
    assert.deepEqual(labActions(lab({ state: 'STOPPED' }), 'operator'), ['start', 'wipe']);
    assert.deepEqual(labActions(lab({ state: 'DEFINED_ON_CORE' }), 'operator'), ['start']);
    assert.deepEqual(labActions(lab({ state: 'STOPPED' }), 'admin'), ['start', 'wipe', 'delete']);
    assert.deepEqual(labActions(lab({ state: 'STARTED' }), 'admin'), ['stop']);  // stop it first
  });

  it('wipe and delete ask first, naming the lab (and its owner for a delete)', () => {
    assert.match(LAB_ACTIONS.wipe.confirm(lab()), /Wipe OSPF areas/);
    assert.match(LAB_ACTIONS.delete.confirm(lab()), /OSPF areas \(alice's\).*cannot be undone/);
    assert.equal(LAB_ACTIONS.start.confirm, undefined);
    assert.equal(LAB_ACTIONS.delete.method, 'DELETE');
    assert.match(LAB_ACTIONS.stop.path('w 1', lab()), /^\/api\/workers\/w%201\/labs\/[0-9a-f-]+\/stop$/);
  });
});

describe('a lab row', () => {
  it('says the state in words, nodes running of all, and the age', () => {
    assert.deepEqual(labRow(lab({ state: 'STARTED', running_nodes: 3 }), NOW),
      { title: 'OSPF areas', owner: 'alice', state: 'started', tone: 'ok', nodes: '3/4', age: '2 d 0 h' });
    const wiped = labRow(lab({ state: 'DEFINED_ON_CORE', owner_username: null, running_nodes: null,
      created: null }), NOW);
    assert.deepEqual([wiped.state, wiped.owner, wiped.nodes, wiped.age], ['wiped', '—', '0/4', '—']);
  });

  it('lab operations read as history lines', () => {
    assert.equal(describeEvent('worker.lab.operation.done',
      { operation: 'stop', lab_id: '90f84e38-a71c', lab_state: 'STOPPED' }), 'Lab stop done (90f84e38) (stopped)');
    assert.equal(describeEvent('worker.lab.operation.failed',
      { operation: 'wipe', lab_id: null, reason: 'HTTP 400: stop it first' }),
    'Lab wipe failed: HTTP 400: stop it first');
    assert.equal(describeEvent('worker.lab.operation.requested',
      { operation: 'import', lab_id: null, title: 'copy' }), 'Lab import requested: copy');
  });
});

describe('the lab owner filter', () => {
  it('keeps the workers the server says have a lab of that owner', () => {
    const a = worker({ id: 'a' });
    const b = worker({ id: 'b' });
    const filter = { ...NO_FILTER, labOwner: 'alice', ownerWorkers: new Set(['b']) };
    assert.deepEqual([a, b].filter((w) => matches(w, filter)).map((w) => w.id), ['b']);
    assert.equal(matches(a, NO_FILTER), true);
  });

  it('reads every page of /api/labs', async () => {
    const asked = [];
    const pages = {
      '': { items: [{ worker_id: 'a' }, { worker_id: 'b' }], next_cursor: 'c1' },
      c1: { items: [{ worker_id: 'a' }, { worker_id: 'c' }], next_cursor: null },
    };
    const getJson = async (url) => {
      asked.push(url);
      return pages[new URL(url, 'http://x').searchParams.get('cursor') ?? ''];
    };
    const ids = await workersWithLabsOf('alice b', getJson, 2);
    assert.deepEqual([...ids].sort(), ['a', 'b', 'c']);
    assert.deepEqual(asked, ['/api/labs?owner=alice+b&limit=2', '/api/labs?owner=alice+b&limit=2&cursor=c1']);
  });
});
