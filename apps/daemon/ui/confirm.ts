// Every action asks first, in a modal <dialog>: focus moves into it, Escape or "Cancel" (the
// default button) backs out, and focus returns to the button that asked.
import { el } from './element.ts';

export function confirmAction(title: string, detail: string, verb: string): Promise<boolean> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const cancel = el('button', { type: 'button', value: 'cancel', autofocus: true }, 'Cancel');
  const ok = el('button', { type: 'button', value: 'ok', class: 'danger' }, verb);
  const dialog = el(
    'dialog',
    { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-detail', class: 'confirm' },
    el('h2', { id: 'confirm-title' }, title),
    el('p', { id: 'confirm-detail' }, detail),
    el('div', { class: 'buttons' }, cancel, ok),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = false;
    cancel.addEventListener('click', () => dialog.close());
    ok.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      opener?.focus();
      resolve(answer);
    });
    dialog.showModal();
    cancel.focus();
  });
}
