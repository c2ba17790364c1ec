// The item a conversation belongs to, shown in the conversation pane (R2, R28): its line as a
// link, its status and assignees to edit in place, and its conversations as tabs — public and
// internal side by side, with a tab to start the kind it does not have yet.
import { api, el } from './api.js';

const $ = (id) => document.getElementById(id);

export const STATUSES = [
  ['open', 'Open'],
  ['in_progress', 'In progress'],
  ['closed', 'Closed'],
];

/** "Ticket #5", for labels and offers. */
export function itemName(item) {
  return `${item.kind[0].toUpperCase()}${item.kind.slice(1)} #${item.id}`;
}

const TAB_LABEL = { public: 'Customers', internal: 'Internal' };
const NEW_TAB_LABEL = { public: 'Reply to customers', internal: 'Internal note' };

/**
 * The tabs of an item's conversations, public first, then internal, each in the order started;
 * a subject is added where one visibility has several. A visibility the item has no
 * conversation of yet gets a tab that starts one with its first message.
 */
export function tabsOf(conversations) {
  const order = { public: 0, internal: 1 };
  const sorted = [...conversations].sort((a, b) => order[a.visibility] - order[b.visibility] || a.id - b.id);
  const count = (v) => sorted.filter((c) => c.visibility === v).length;
  const tabs = sorted.map((c) => ({
    conversation: c.id,
    visibility: c.visibility,
    label: count(c.visibility) > 1 ? `${TAB_LABEL[c.visibility]}: ${c.subject}` : TAB_LABEL[c.visibility],
    state: c.state,
  }));
  for (const visibility of ['public', 'internal']) {
    if (!count(visibility)) tabs.push({ conversation: null, visibility, label: NEW_TAB_LABEL[visibility], state: 'open' });
  }
  return tabs;
}

/**
 * Draws the item's line, status and assignees. `users` are the users one may assign; `changed`
 * is called with the item as the server returned it after an edit.
 */
export function renderItem(item, users, nameOf, changed) {
  const fail = (e) => {
    $('item-error').textContent = e.message;
  };
  const done = (updated) => {
    $('item-error').textContent = '';
    changed(updated);
  };
  $('linked').replaceChildren(el('a', { href: `/items/${item.id}`, id: 'item-link' }, `${itemName(item)}: ${item.title}`));
  $('item-controls').hidden = false;
  const status = $('item-status');
  status.replaceChildren(...STATUSES.map(([value, label]) => el('option', { value, selected: value === item.status }, label)));
  status.value = item.status;
  status.setAttribute('aria-label', `Status of ${itemName(item)}`);
  status.onchange = async () => {
    try {
      done(await api('PATCH', `/items/${item.id}`, { status: status.value }));
    } catch (e) {
      status.value = item.status;
      fail(e);
    }
  };
  $('item-assignees').replaceChildren(
    item.assignees.length ? null : el('span', { class: 'hint' }, 'Unassigned'),
    ...item.assignees.map((id) =>
      el(
        'span',
        { class: 'chip', 'data-assignee': id },
        nameOf({ kind: 'user', id }),
        el(
          'button',
          {
            type: 'button',
            'aria-label': `Unassign ${nameOf({ kind: 'user', id })}`,
            onclick: async () => {
              try {
                done(await api('DELETE', `/items/${item.id}/people/assignee/user/${id}`));
              } catch (e) {
                fail(e);
              }
            },
          },
          '×',
        ),
      ),
    ),
  );
  const assign = $('item-assign');
  assign.replaceChildren(
    el('option', { value: '' }, 'Assign…'),
    ...users.filter((u) => !item.assignees.includes(u.id)).map((u) => el('option', { value: u.id }, u.name)),
  );
  assign.onchange = async () => {
    if (!assign.value) return;
    try {
      done(await api('POST', `/items/${item.id}/people`, { role: 'assignee', party: { kind: 'user', id: Number(assign.value) } }));
    } catch (e) {
      assign.value = '';
      fail(e);
    }
  };
}

/** Draws the tabs; `open(tab)` is called when one is picked. `current` is the open tab. */
export function renderTabs(tabs, current, open) {
  const bar = $('item-tabs');
  bar.hidden = false;
  const selected = (t) =>
    current && (t.conversation !== null ? t.conversation === current.conversation : t.visibility === current.visibility && current.conversation === null);
  bar.replaceChildren(
    ...tabs.map((t) =>
      el(
        'button',
        {
          type: 'button',
          role: 'tab',
          class: ['tab', t.visibility, t.conversation === null ? 'new' : ''].join(' '),
          'aria-selected': selected(t) ? 'true' : 'false',
          'data-conversation': t.conversation ?? false,
          'data-new': t.conversation === null ? t.visibility : false,
          onclick: () => open(t),
        },
        t.conversation === null ? `+ ${t.label}` : t.label,
        t.state !== 'open' ? el('span', { class: 'tab-state' }, ` · ${t.state}`) : null,
      ),
    ),
  );
}

/** Hides everything item-specific (an independent conversation, or one on a project). */
export function hideItem() {
  $('item-controls').hidden = true;
  $('item-tabs').hidden = true;
  $('close-offer').hidden = true;
  $('item-error').textContent = '';
}
