// Keyboard and screen-reader helpers shared by Parley's pages: single-key shortcuts with their
// list behind `?`, and announcements read out by screen readers.
import { el } from './api.js';

/** Whether a key press is someone typing in a field (shortcuts then stay out of the way). */
export function typing(event) {
  return !!(event.target.closest && event.target.closest('input, textarea, select, [contenteditable]'));
}

/**
 * Wires `shortcuts` ([{ keys: ['j'], label, run }], in the order they are listed) to single key
 * presses outside fields, and `?` to `dialog`, which lists them. Entries without `run` are only
 * listed (keys handled elsewhere, such as Ctrl+Enter in the message box). The list is drawn from
 * the same table the keys are read from, so it never says something the page does not do.
 */
export function setUpShortcuts(dialog, shortcuts) {
  const all = [...shortcuts, { keys: ['?'], label: 'Show these shortcuts' }];
  const list = dialog.querySelector('dl');
  list.replaceChildren(
    ...all.flatMap((s) => [
      el('dt', {}, ...s.keys.flatMap((k, i) => [i ? ' or ' : null, el('kbd', {}, k)])),
      el('dd', {}, s.label),
    ]),
  );
  dialog.querySelector('button.close').addEventListener('click', () => dialog.close());
  document.addEventListener('keydown', (event) => {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey || dialog.open) return;
    if (document.querySelector('dialog[open]')) return;
    if (event.key === '?') {
      event.preventDefault();
      dialog.showModal();
      return;
    }
    const shortcut = shortcuts.find((s) => s.run && s.keys.includes(event.key));
    if (shortcut) {
      event.preventDefault();
      shortcut.run();
    }
  });
}

/**
 * Says `text` to screen readers through the page's polite live region (`#announcer`). The region
 * is emptied first, so the same words said twice are read twice.
 */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}
