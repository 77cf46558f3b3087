/**
 * Calls to the REST API with the session cookie. Mutations carry the CSRF token
 * (from the readable cookie) and a fresh `X-Correlation-ID`, so the stream's frames
 * can be matched to the command that caused them.
 */

import { cookie } from './dom.mjs';

const CSRF_COOKIE = 'cml_fleet_csrf';

/** An API answer that is not 2xx: `status` and the problem details, if any. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function body(response) {
  const type = response.headers.get('content-type') ?? '';
  if (response.status === 204 || !type.includes('json')) return null;
  return response.json();
}

async function call(method, path, { json, text, mediaType, correlationId } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = cookie(CSRF_COOKIE) ?? '';
  if (correlationId) headers['X-Correlation-ID'] = correlationId;
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  if (text !== undefined) headers['Content-Type'] = mediaType;
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: json === undefined ? text : JSON.stringify(json),
  });
  const answer = await body(response);
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

export const getJson = (path) => call('GET', path);

/** Send a command; resolves to `{worker_id, position, correlation_id}`. */
export const send = (method, path, json, correlationId) => call(method, path, { json, correlationId });

/** Send a command whose body is text of `mediaType` (a lab's YAML). */
export const sendText = (method, path, text, mediaType, correlationId) =>
  call(method, path, { text, mediaType, correlationId });

export const logout = () => call('POST', '/logout');
