// The search box: one query over conversations, messages, items and (for staff) customers, as the
// server finds them for the asker. Matched words are marked with <mark>; every text is inserted as
// text, never as HTML. `/` focuses the box, Escape closes the results.
import { api, el, when } from './api.js';

/** The pieces of an excerpt, matched words in <mark>. */
function excerpt(segments) {
  return segments.map((s) => (s.hit ? el('mark', {}, s.text) : s.text));
}

function group(title, hits) {
  if (!hits.length) return null;
  return el('section', { class: 'search-group' }, el('h3', {}, title), el('ul', {}, hits));
}

/**
 * Wires the search form `form` (with its input) to the results element `results`. `open` gets
 * `{conversation}` or `{item}` when a hit is chosen; `paths` says where each hit links to (an item
 * without a page of its own is shown without a link).
 */
export function setUpSearch(form, results, open, paths = { conversation: (id) => `/c/${id}`, item: (id) => `/items/${id}` }) {
  const input = form.querySelector('input');
  let asked = 0;
  let timer = null;

  const close = () => {
    results.hidden = true;
    results.replaceChildren();
  };

  const choose = (target) => (event) => {
    event.preventDefault();
    close();
    open(target);
  };

  const render = (found) => {
    const conversations = found.conversations.map((h) =>
      el('li', {}, el('a', { href: paths.conversation(h.conversation.id), onclick: choose({ conversation: h.conversation.id }) },
        el('span', { class: 'hit-title' }, excerpt(h.excerpt)),
        el('span', { class: 'hit-meta' }, `${h.conversation.visibility === 'internal' ? 'Internal' : 'With customers'} · ${h.conversation.state}`))));
    const messages = found.messages.map((h) =>
      el('li', {}, el('a', { href: paths.conversation(h.conversation_id), onclick: choose({ conversation: h.conversation_id }) },
        el('span', { class: 'hit-title' }, h.subject),
        el('span', { class: 'hit-excerpt' }, excerpt(h.excerpt)),
        el('span', { class: 'hit-meta' }, when(h.created_at)))));
    const items = found.items.map((h) => {
      const parts = [el('span', { class: 'hit-title' }, excerpt(h.excerpt)), el('span', { class: 'hit-meta' }, `${h.kind} · ${h.status}`)];
      return el('li', {}, paths.item ? el('a', { href: paths.item(h.id), onclick: choose({ item: h.id }) }, parts) : parts);
    });
    const customers = found.customers.map((h) =>
      el('li', {}, el('span', { class: 'hit-title' }, excerpt(h.excerpt)), el('span', { class: 'hit-meta' }, h.email)));
    const groups = [
      group('Conversations', conversations),
      group('Messages', messages),
      group('Items', items),
      group('Customers', customers),
    ].filter(Boolean);
    results.replaceChildren(...(groups.length ? groups : [el('p', { class: 'hint' }, 'Nothing found.')]));
    results.hidden = false;
  };

  const run = async () => {
    const q = input.value.trim();
    const mine = ++asked;
    if (!q) return close();
    try {
      const found = await api('GET', `/search?q=${encodeURIComponent(q)}&limit=8`);
      if (mine === asked) render(found);
    } catch (e) {
      if (mine !== asked) return;
      results.replaceChildren(el('p', { role: 'alert' }, e.status === 400 ? e.message : `Search failed: ${e.message}`));
      results.hidden = false;
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      input.value = '';
      close();
    }
  });
  document.addEventListener('keydown', (event) => {
    const typing = event.target.closest && event.target.closest('input, textarea, select, [contenteditable]');
    if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      input.focus();
    }
  });
  document.addEventListener('click', (event) => {
    if (!results.hidden && !results.contains(event.target) && !form.contains(event.target)) close();
  });
}
