/**
 * The one EventSource of the dashboard, and the connection indicator's state.
 *
 * The browser reconnects by itself, sending `Last-Event-ID` (the position of the
 * last stored event it got), so the server replays exactly what was missed. When the
 * browser gives up (the server answered with an error, e.g. while restarting behind a
 * proxy), a new EventSource resumes from the fleet's own position with
 * `?last_event_id=`, after a growing delay.
 */

const MAX_DELAY_MS = 30_000;

/** Connection states: connecting, live, reconnecting, offline, signed-out. */
export class Stream {
  /**
   * @param {object} o
   * @param {string} o.url the stream URL
   * @param {string[]} o.types the SSE event types to listen to
   * @param {(type: string, envelope: object) => void} o.onFrame
   * @param {(state: string) => void} o.onState
   * @param {() => (number|null)} o.resumeFrom the position the fleet is complete up to
   * @param {() => Promise<boolean>} o.stillSignedIn checked before reconnecting by hand
   */
  constructor({ url, types, onFrame, onState, resumeFrom, stillSignedIn }) {
    Object.assign(this, { url, types, onFrame, onState, resumeFrom, stillSignedIn });
    this.source = null;
    this.delay = 1000;
    this.timer = null;
    this.listener = (event) => this._message(event);
  }

  open() {
    const position = this.resumeFrom();
    const join = this.url.includes('?') ? '&' : '?';
    const url = position === null ? this.url : `${this.url}${join}last_event_id=${position}`;
    performance.mark('stream-open');
    const source = new EventSource(url, { withCredentials: true });
    for (const type of this.types) source.addEventListener(type, this.listener);
    source.addEventListener('open', () => {
      this.delay = 1000;
      this.onState('live');
    });
    source.addEventListener('error', () => this._error(source));
    this.source = source;
    this.onState(position === null ? 'connecting' : 'reconnecting');
  }

  close() {
    clearTimeout(this.timer);
    this.source?.close();
    this.source = null;
  }

  _message(event) {
    this.onFrame(event.type, JSON.parse(event.data));
  }

  _error(source) {
    if (source !== this.source) return;
    if (source.readyState === EventSource.CONNECTING) {
      this.onState('reconnecting');
      return;
    }
    this.close();
    this.onState('offline');
    this.timer = setTimeout(() => this._retry(), this.delay);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
  }

  async _retry() {
    let signedIn = true;
    try {
      signedIn = await this.stillSignedIn();
    } catch {
      signedIn = true; // the server is not answering yet: try the stream again later
    }
    if (signedIn) this.open();
    else this.onState('signed-out');
  }
}
