/** Ask before a destructive action, with the native modal <dialog> (focus handled). */

export class Confirm {
  constructor(dialog) {
    this.dialog = dialog;
    this.message = dialog.querySelector('[data-part="message"]');
    this.ok = dialog.querySelector('[data-part="confirm"]');
  }

  /** Resolves true when the person confirms; Cancel and Escape resolve false. */
  ask(message, confirmLabel) {
    this.message.textContent = message;
    this.ok.textContent = confirmLabel;
    this.dialog.returnValue = '';
    return new Promise((resolve) => {
      this.dialog.addEventListener('close', () => resolve(this.dialog.returnValue === 'confirm'),
        { once: true });
      this.dialog.showModal();
      this.dialog.querySelector('[data-part="cancel"]').focus();
    });
  }
}
