/** Short messages in a live region; errors stay longer and are announced at once. */

import { h } from './dom.mjs';

const LIFETIME_MS = { ok: 6000, info: 6000, warn: 12000, error: 12000 };
const MAX_TOASTS = 5;

export class Toasts {
  constructor(root) {
    this.root = root;
    root.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-dismiss]');
      if (button) button.closest('.toast')?.remove();
    });
  }

  /** Show `text`; `tone` is ok, info, warn or error. */
  show(tone, text) {
    const toast = h('div', { class: `toast tone-${tone}`, role: tone === 'error' ? 'alert' : 'status' },
      h('span', { class: 'toast-text' }, text),
      h('button', { type: 'button', class: 'icon', 'data-dismiss': true, 'aria-label': 'Dismiss' }, '×'));
    this.root.append(toast);
    while (this.root.children.length > MAX_TOASTS) this.root.firstElementChild.remove();
    setTimeout(() => toast.remove(), LIFETIME_MS[tone] ?? LIFETIME_MS.info);
    return toast;
  }
}
