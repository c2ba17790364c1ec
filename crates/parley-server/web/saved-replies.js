// Saved replies in the message box: `/` at the start of the box, or the "Saved replies" button,
// opens the team's replies; typing after the `/` narrows them, the arrows move, Enter or a click
// puts the reply, filled for the open conversation, into the box.
import { api, el } from './api.js';

/**
 * `conversation()` answers the open conversation's id (none: the menu stays shut); `changed()` is
 * called after a reply went into the box; `failed(message)` when it could not.
 */
export function setUpSavedReplies({ box, button, menu, conversation, changed, failed }) {
  let replies = null;
  let shown = [];
  let active = 0;
  // Opened with the button: the reply goes in at the cursor, and nothing is typed to narrow.
  let byButton = false;

  const typed = () => {
    const match = box.value.match(/^\/(\S*)$/);
    return match ? match[1] : null;
  };

  async function refresh() {
    const q = byButton ? '' : typed();
    if (q === null || !conversation()) return close();
    if (!replies) replies = await api('GET', '/saved-replies');
    shown = replies.filter((r) => r.title.toLowerCase().includes(q.toLowerCase()));
    active = Math.min(active, Math.max(shown.length - 1, 0));
    render();
  }

  function render() {
    menu.hidden = false;
    if (!shown.length) {
      menu.replaceChildren(el('li', { class: 'hint' }, 'No saved reply matches. Add them in Settings.'));
      box.removeAttribute('aria-activedescendant');
      return;
    }
    menu.replaceChildren(...shown.map((r, i) => el('li', {
      role: 'option',
      id: `saved-reply-${r.id}`,
      class: i === active ? 'active' : '',
      'aria-selected': i === active ? 'true' : 'false',
      // mousedown, not click: the box keeps its focus.
      onmousedown: (event) => {
        event.preventDefault();
        pick(r);
      },
    }, el('strong', {}, r.title), ' ', el('span', { class: 'hint' }, r.body.length > 60 ? `${r.body.slice(0, 60)}…` : r.body))));
    box.setAttribute('aria-activedescendant', `saved-reply-${shown[active].id}`);
  }

  function close() {
    menu.hidden = true;
    byButton = false;
    box.removeAttribute('aria-activedescendant');
  }

  async function pick(reply) {
    const id = conversation();
    const atCursor = byButton;
    close();
    try {
      const { body } = await api('POST', `/saved-replies/${reply.id}/fill`, { conversation_id: id });
      if (atCursor) {
        const [start, end] = [box.selectionStart, box.selectionEnd];
        box.value = box.value.slice(0, start) + body + box.value.slice(end);
      } else {
        box.value = body;
      }
      box.focus();
      changed();
    } catch (e) {
      failed(e.message);
    }
  }

  box.addEventListener('input', () => {
    byButton = false;
    refresh().catch((e) => failed(e.message));
  });
  box.addEventListener('keydown', (event) => {
    if (menu.hidden) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
    } else if (shown.length && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      event.preventDefault();
      active = (active + (event.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
      render();
    } else if (shown.length && event.key === 'Enter' && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      pick(shown[active]);
    }
  });
  box.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== box) close(); }, 150));
  button.addEventListener('click', () => {
    byButton = true;
    active = 0;
    box.focus();
    // The box has the focus, so the arrows and Enter work in the menu.
    refresh().catch((e) => failed(e.message));
  });
  return {
    // The team's list is read again the next time the menu opens (after Settings changed it).
    forget() {
      replies = null;
      close();
    },
  };
}
