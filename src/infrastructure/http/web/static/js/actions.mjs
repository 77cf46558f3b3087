/**
 * What a person may do to a worker: the commands, the role each needs (as the API's
 * route table says) and the states they apply to (as the aggregate's guards say).
 * Pure; the dashboard shows only what `allowedActions` returns.
 */

import { isPaused } from './filters.mjs';

export const ROLES = Object.freeze(['viewer', 'operator', 'admin']);

/** Whether `role` includes `needed` (each role can do what the roles below it can). */
export function can(role, needed) {
  const have = ROLES.indexOf(role);
  return have >= 0 && have >= ROLES.indexOf(needed);
}

const LIVE = new Set(['pending', 'provisioning', 'running', 'stopping', 'stopped', 'starting',
  'failed', 'unknown']);
const FINAL = new Set(['terminated', 'released']);
const REGISTRABLE = new Set(['unregistered', 'failed', 'expired', 'evaluation']);
const DEREGISTRABLE = new Set(['registered', 'expired', 'evaluation', 'failed']);

const path = (suffix) => (w) => `/api/workers/${encodeURIComponent(w.id)}${suffix}`;

/**
 * Each action: label, role, HTTP method and path, when it applies, a `confirm` text
 * for destructive ones and a `body` for those that send one without a form. `quick` actions also show in the fleet row.
 */
export const ACTIONS = Object.freeze({
  pause: { label: 'Pause', role: 'operator', method: 'POST', path: path('/pause'), quick: true,
    when: (w) => w.status === 'running', done: 'paused' },
  resume: { label: 'Resume', role: 'operator', method: 'POST', path: path('/resume'), quick: true,
    when: (w) => w.status === 'stopped' && isPaused(w), done: 'resumed' },
  start: { label: 'Start', role: 'operator', method: 'POST', path: path('/start'), quick: true,
    when: (w) => w.status === 'stopped' && !isPaused(w), done: 'start requested' },
  stop: { label: 'Stop', role: 'operator', method: 'POST', path: path('/stop'), quick: false,
    when: (w) => ['running', 'starting', 'provisioning'].includes(w.status), done: 'stop requested',
    confirm: (w) => `Stop ${w.name}? Labs running on it stop too. Use Pause to save money instead.` },
  terminate: { label: 'Terminate', role: 'admin', method: 'POST', path: path('/terminate'),
    quick: false, when: (w) => LIVE.has(w.status), done: 'termination requested',
    confirm: (w) => `Terminate ${w.name}? Its EC2 instance and every lab on it are deleted. This cannot be undone.` },
  release: { label: 'Release', role: 'admin', method: 'POST', path: path('/release'),
    quick: false, when: (w) => !FINAL.has(w.status), done: 'released from management',
    body: (w) => ({ reason: `released from the dashboard while ${w.status}` }),
    confirm: (w) => `Release ${w.name} from management? cml-fleet stops watching and acting on it; its EC2 instance is left as it is (import it again to manage it).` },
  idle: { label: 'Save idle settings', role: 'operator', method: 'PUT', path: path('/idle-detection'),
    quick: false, when: (w) => LIVE.has(w.status), done: 'idle settings saved' },
  license: { label: 'Register license', role: 'admin', method: 'POST', path: path('/license'),
    quick: false, when: (w) => LIVE.has(w.status) && REGISTRABLE.has(w.license_status),
    done: 'license registration started' },
  team: { label: 'Save team', role: 'admin', method: 'PUT', path: path('/team'),
    quick: false, when: (w) => LIVE.has(w.status), done: 'team saved' },
  unlicense: { label: 'Deregister license', role: 'admin', method: 'DELETE', path: path('/license'),
    quick: false, when: (w) => LIVE.has(w.status) && DEREGISTRABLE.has(w.license_status),
    done: 'license deregistration started',
    confirm: (w) => `Deregister the CML license of ${w.name}? Its labs stop working until it is registered again.` },
});

/** Names of the actions `role` may take on `worker` in its current state. */
export function allowedActions(worker, role, { quickOnly = false } = {}) {
  return Object.entries(ACTIONS)
    .filter(([, a]) => (!quickOnly || a.quick) && can(role, a.role) && a.when(worker))
    .map(([name]) => name);
}
