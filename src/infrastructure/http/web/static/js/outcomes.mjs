/**
 * Toasts for the outcomes of this person's own commands: every command carries a
 * fresh `X-Correlation-ID`, and stream frames with that `correlationid` are its
 * outcome (the change itself, then whatever the cloud operation records later).
 * Pure; the caller shows the toasts.
 */

import { describeEvent } from './format.mjs';

const TEN_MINUTES = 10 * 60_000;

/** A new correlation id for one command (`ui-` + a random UUID). */
export function newCorrelationId(random = globalThis.crypto) {
  return `ui-${random.randomUUID()}`;
}

function isFailure(type, data) {
  return type.endsWith('.failed') || data.status === 'failed';
}

export class PendingCommands {
  constructor(ttlMs = TEN_MINUTES) {
    this.ttlMs = ttlMs;
    this.byId = new Map();
  }

  /** Remember a command sent with `correlationId` (`{label, workerName}`). */
  add(correlationId, command, nowMs) {
    this.byId.set(correlationId, { ...command, at: nowMs });
  }

  forget(correlationId) {
    this.byId.delete(correlationId);
  }

  /**
   * The toast (`{tone, text}`) for a stream frame caused by one of our commands,
   * or null for anyone else's.
   */
  outcome(type, envelope, workerName, nowMs) {
    this.expire(nowMs);
    const command = envelope.correlationid ? this.byId.get(envelope.correlationid) : undefined;
    if (command === undefined) return null;
    const data = envelope.data ?? {};
    const name = workerName ?? command.workerName ?? 'worker';
    return { tone: isFailure(type, data) ? 'error' : 'ok', text: `${name}: ${describeEvent(type, data)}` };
  }

  expire(nowMs) {
    for (const [id, command] of this.byId) {
      if (nowMs - command.at > this.ttlMs) this.byId.delete(id);
    }
  }
}
