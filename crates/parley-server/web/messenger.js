// The messenger: views with unread counts, conversation lists, and one conversation with its
// messages, delivery marks and the message box. Everything comes from the JSON API; live changes
// come over the realtime socket.
import { ago, api, chime, connectionBanner, connectRealtime, el, unreadBadge, when } from './api.js';
import { watchLooking } from './looking.js';
import { announce, setUpShortcuts } from './keyboard.js';
import { setUpSearch } from './search.js';
import { hideItem, itemName, renderItem, renderTabs, tabsOf } from './item-pane.js';
import { acceptDrops, renderAttachments, Tray, uploadFile } from './attachments.js';
import { setUpSavedReplies } from './saved-replies.js';

const $ = (id) => document.getElementById(id);

const SECTIONS = {
  from_customers: 'From customers',
  my_conversations: 'My conversations',
  portal: 'Portal',
};

const state = {
  me: null,
  views: [],
  view: null,
  // '' (everything), 'assigned_to_me' or 'unassigned'.
  filter: '',
  list: [],
  // The open conversation, or, for a tab that starts an item's first conversation of a
  // visibility, { id: null, pending: true, visibility, state: 'open', link }.
  current: null,
  // The item the open conversation belongs to, and that item's conversations (R28).
  item: null,
  itemConversations: [],
  users: [],
  messages: [],
  deliveries: new Map(),
  names: new Map(),
  // The conversation and the message number that just got new activity.
  freshConversation: null,
  freshNumber: null,
  realtime: null,
  showConnection: () => {},
  // Files picked for the next message of the open conversation.
  tray: null,
};

// Each conversation keeps its own draft (kept across reloads in this browser, cleared when sent),
// so text typed for one audience never goes out to another's.
const draftKey = () => `parley.drafts.${state.me.id}`;

function drafts() {
  try {
    return JSON.parse(localStorage.getItem(draftKey()) || '{}');
  } catch (_) {
    return {};
  }
}

/** The draft's key: the conversation, or the item and visibility of a conversation not started yet. */
function draftId(current = state.current) {
  return current.id ?? `item-${current.link.id}-${current.visibility}`;
}

function saveDraft(conversationId, text) {
  const all = drafts();
  if (text.trim()) all[conversationId] = text;
  else delete all[conversationId];
  localStorage.setItem(draftKey(), JSON.stringify(all));
}

function nameOf(party) {
  if (!party || party.kind === 'bot') return 'Parley';
  return state.names.get(`${party.kind}:${party.id}`) || `${party.kind} #${party.id}`;
}

async function loadNames() {
  // Customers are many: their names are fetched as conversations name them (ensureNames).
  state.users = await api('GET', '/users');
  for (const u of state.users) state.names.set(`user:${u.id}`, u.name);
}

/** Fetches the names of people not seen before (a new live-chat visitor, say). */
async function ensureNames(parties) {
  const missing = new Map();
  for (const p of parties) {
    const key = p && p.kind !== 'bot' ? `${p.kind}:${p.id}` : null;
    if (key && !state.names.has(key)) missing.set(key, p);
  }
  await Promise.all(
    [...missing].map(async ([key, p]) => {
      try {
        const person = await api('GET', `/${p.kind === 'user' ? 'users' : 'customers'}/${p.id}`);
        state.names.set(key, person.name);
      } catch (_) {
        // Unknown to the asker: shown by kind and number.
      }
    }),
  );
}

function updateTitle() {
  const unread = state.views.reduce((n, v) => Math.max(n, v.unread), 0);
  document.title = unread ? `(${unread}) Parley` : 'Parley';
}

function renderSidebar() {
  const sidebar = $('sidebar');
  sidebar.replaceChildren();
  const sections = new Map();
  for (const view of state.views) {
    if (!sections.has(view.section)) sections.set(view.section, []);
    sections.get(view.section).push(view);
  }
  for (const [section, views] of sections) {
    sidebar.append(
      el('h2', {}, SECTIONS[section] || section),
      el(
        'ul',
        {},
        views.map((v) =>
          el(
            'li',
            {},
            el(
              'button',
              {
                type: 'button',
                class: 'view',
                'data-view': v.view,
                'aria-current': v.view === state.view ? 'true' : false,
                onclick: () => selectView(v.view),
              },
              el('span', {}, v.title),
              v.unread ? unreadBadge(v.unread) : null,
            ),
          ),
        ),
      ),
    );
  }
  updateTitle();
}

async function selectView(view) {
  state.view = view;
  renderSidebar();
  await loadList();
}

async function loadList() {
  if (!state.view) return;
  const page = await api('GET', `/views/${state.view}?limit=50${filterQuery()}`);
  state.list = page.conversations;
  state.next = page.next;
  const current = state.views.find((v) => v.view === state.view);
  $('list-title').textContent = current ? current.title : 'Conversations';
  renderList();
}

const filterQuery = () => (state.filter ? `&filter=${state.filter}` : '');

// The next page of the view: what is older than the last conversation shown.
async function loadOlder() {
  if (!state.view || !state.next) return;
  const page = await api('GET', `/views/${state.view}?limit=50${filterQuery()}&before=${encodeURIComponent(state.next)}`);
  const shown = new Set(state.list.map((c) => c.id));
  state.list = state.list.concat(page.conversations.filter((c) => !shown.has(c.id)));
  state.next = page.next;
  renderList();
}

function renderList() {
  $('older').hidden = !state.next;
  $('conversations').replaceChildren(
    ...state.list.map((c) =>
      el(
        'li',
        {
          class: [
            'conversation',
            c.visibility,
            state.current && state.current.id === c.id ? 'open' : '',
            state.freshConversation === c.id ? 'fresh' : '',
          ].join(' '),
          'data-id': c.id,
        },
        el(
          'button',
          { type: 'button', onclick: () => openFromList(c.id) },
          el('span', { class: 'subject' }, c.subject),
          el('span', { class: `tag ${c.visibility}` }, c.visibility === 'internal' ? 'Internal' : 'Customers'),
          c.state !== 'open' ? el('span', { class: 'tag state' }, c.state) : null,
          c.unread ? unreadBadge(c.unread) : null,
          el('time', { datetime: new Date(c.last_activity_at).toISOString(), title: when(c.last_activity_at) }, ago(c.last_activity_at)),
          rowPeople(c),
          rowPreview(c),
        ),
      ),
    ),
  );
}

// Who the conversation is with, and who is assigned to its item.
function rowPeople(c) {
  const customers = c.customers.map((x) => x.name).join(', ');
  const assignees = c.assignees.map((id) => nameOf({ kind: 'user', id })).join(', ');
  if (!customers && !c.link) return null;
  return el(
    'span',
    { class: 'row-people' },
    customers ? el('span', { class: 'customer' }, customers) : null,
    c.link && c.link.kind === 'item' ? el('span', { class: assignees ? 'assignee' : 'assignee none' }, assignees ? `→ ${assignees}` : 'unassigned') : null,
  );
}

// The latest words, and whether a customer or someone of the team wrote them.
function rowPreview(c) {
  const m = c.last_message;
  if (!m) return el('span', { class: 'preview empty' }, 'No message yet');
  const mine = m.author.kind === 'user' && m.author.id === state.me.id;
  const who = mine ? 'You' : m.author.kind === 'customer' ? customerName(c, m.author.id) : nameOf(m.author);
  // A message of files alone has no words to show.
  return el('span', { class: `preview by-${m.author.kind}` }, el('strong', {}, `${who}: `), m.excerpt || 'sent a file');
}

function customerName(c, id) {
  const known = c.customers.find((x) => x.id === id);
  return known ? known.name : nameOf({ kind: 'customer', id });
}

// "Add": a conversation with users (internal; customers cannot be added) or with customers (R4).
let people = { users: [], customers: [] };

function renderPeoplePicker() {
  const withUsers = document.querySelector('input[name="start-as"]:checked').value === 'with_users';
  const filter = $('add-filter').value.replace(/^@/, '').trim().toLowerCase();
  const list = withUsers
    ? people.users.filter((u) => u.id !== state.me.id).map((u) => ({ kind: 'user', id: u.id, label: `${u.name} @${u.handle}` }))
    : people.customers.map((c) => ({ kind: 'customer', id: c.id, label: `${c.name}${c.email ? ` <${c.email}>` : c.unverified_email ? ` <${c.unverified_email}> (unverified)` : ''}` }));
  const checked = new Set([...$('add-people').querySelectorAll('input:checked')].map((i) => i.value));
  $('add-people').replaceChildren(
    ...list
      .filter((p) => !filter || p.label.toLowerCase().includes(filter))
      .map((p) => {
        const value = `${p.kind}:${p.id}`;
        return el('li', {}, el('label', {}, el('input', { type: 'checkbox', value, checked: checked.has(value) }), ` ${p.label}`));
      }),
  );
  $('add-hint').textContent = withUsers
    ? 'An internal conversation: only users take part; @mentions in the message add followers.'
    : 'A conversation with customers: they will see every message in it.';
}

// Customers are searched on the server as one types (they are too many to load at once).
let searchTimer = null;
function searchPeople() {
  renderPeoplePicker();
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    if (document.querySelector('input[name="start-as"]:checked').value !== 'with_customers') return;
    const q = $('add-filter').value.trim();
    const page = await api('GET', `/customers?limit=50${q ? `&q=${encodeURIComponent(q)}` : ''}`);
    people.customers = page.customers;
    renderPeoplePicker();
  }, 200);
}

async function openAdd() {
  const [users, page] = await Promise.all([api('GET', '/users'), api('GET', '/customers?limit=50')]);
  people = { users, customers: page.customers };
  $('add-error').textContent = '';
  renderPeoplePicker();
  $('add-dialog').showModal();
  $('add-subject').focus();
}

async function startConversation(event) {
  event.preventDefault();
  const startAs = document.querySelector('input[name="start-as"]:checked').value;
  const participants = [...$('add-people').querySelectorAll('input:checked')].map((i) => {
    const [kind, id] = i.value.split(':');
    return { kind, id: Number(id) };
  });
  const body = $('add-body').value.trim();
  try {
    const conversation = await api('POST', '/conversations', {
      subject: $('add-subject').value.trim(),
      start_as: startAs,
      participants,
      body: body || undefined,
    });
    $('add-dialog').close();
    $('add-form').reset();
    await loadList();
    await openConversation(conversation.id);
  } catch (e) {
    $('add-error').textContent = e.message;
  }
}

// R5: an independent conversation becomes the conversation of a new or an existing item.
async function openLink() {
  const projects = await api('GET', '/projects');
  $('link-project').replaceChildren(...projects.map((p) => el('option', { value: p.id }, p.name)));
  $('link-item-title').value = state.current.subject;
  $('link-error').textContent = '';
  await loadLinkItems();
  $('link-dialog').showModal();
}

async function loadLinkItems() {
  const project = $('link-project').value;
  if (!project) return;
  const items = await api('GET', `/projects/${project}/items`);
  $('link-item').replaceChildren(...items.map((i) => el('option', { value: i.id }, `${i.kind} #${i.id}: ${i.title}`)));
}

function linkModeChanged() {
  const mode = document.querySelector('input[name="link-mode"]:checked').value;
  $('link-new').hidden = mode !== 'new';
  $('link-existing').hidden = mode !== 'existing';
}

async function linkConversation(event) {
  event.preventDefault();
  const mode = document.querySelector('input[name="link-mode"]:checked').value;
  const body =
    mode === 'new'
      ? { new_item: { project_id: Number($('link-project').value), kind: $('link-kind').value, title: $('link-item-title').value.trim() } }
      : { item_id: Number($('link-item').value) };
  try {
    await api('POST', `/conversations/${state.current.id}/link`, body);
    $('link-dialog').close();
    await openConversation(state.current.id);
  } catch (e) {
    $('link-error').textContent = e.message;
  }
}

// Who the customers of the conversation are, beside the chat: name, the address replies reach
// (and whether it is proven), organization, and whether they came through the live chat.
let organizations = null;
async function showCustomers(conversation) {
  const card = $('customer-card');
  const ids = new Set(conversation.participants.filter((p) => p.kind === 'customer').map((p) => p.id));
  for (const id of (state.item && state.item.requesters) || []) ids.add(id);
  if (!ids.size) {
    card.hidden = true;
    card.replaceChildren();
    return;
  }
  organizations ??= new Map((await api('GET', '/organizations')).map((o) => [o.id, o.name]));
  const customers = (await Promise.all([...ids].map((id) => api('GET', `/customers/${id}`).catch(() => null)))).filter(Boolean);
  card.replaceChildren(
    ...customers.map((c) =>
      el(
        'div',
        { class: 'customer', 'data-customer': c.id },
        el('strong', {}, c.name),
        c.email
          ? el('a', { href: `mailto:${c.email}` }, c.email)
          : c.unverified_email
            ? el('span', {}, `${c.unverified_email} `, el('span', { class: 'tag state' }, 'unconfirmed'))
            : el('span', { class: 'hint' }, 'no email address yet'),
        c.organization_id && organizations.get(c.organization_id) ? el('span', {}, organizations.get(c.organization_id)) : null,
        c.email === null ? el('span', { class: 'hint' }, 'live-chat visitor') : null,
        el('span', { class: 'hint' }, `customer since ${new Date(c.created_at).toLocaleDateString()}`),
      ),
    ),
  );
  card.hidden = !customers.length;
}

// The pane's head: what the conversation is linked to; for an item, its controls and tabs.
async function showLink(link) {
  if (!link || link.kind === 'project') {
    state.item = null;
    state.itemConversations = [];
    hideItem();
    $('linked').textContent = link ? `Project: ${(await api('GET', `/projects/${link.id}`)).name}` : 'No linked item';
    return;
  }
  const [item, conversations] = await Promise.all([api('GET', `/items/${link.id}`), api('GET', `/items/${link.id}/conversations`)]);
  state.item = item;
  state.itemConversations = conversations;
  $('close-offer').hidden = true;
  drawItem();
}

function drawItem() {
  renderItem(state.item, state.users, nameOf, (item) => {
    state.item = item;
    if (item.status === 'closed') $('close-offer').hidden = true;
    drawItem();
  });
  const c = state.current;
  renderTabs(tabsOf(state.itemConversations), { conversation: c.id, visibility: c.visibility }, openTab);
}

function openTab(tab) {
  if (tab.conversation !== null) return openConversation(tab.conversation);
  return startOnItem(tab.visibility);
}

// A tab for a visibility the item has no conversation of yet: an empty thread whose first
// message starts the conversation (R1: its visibility is fixed from then on).
function startOnItem(visibility) {
  const item = state.item;
  state.current = { id: null, pending: true, visibility, state: 'open', subject: item.title, link: { kind: 'item', id: item.id } };
  state.messages = [];
  state.freshNumber = null;
  state.tray.clear();
  $('subject').textContent = item.title;
  $('link-open').hidden = true;
  $('body').value = drafts()[draftId()] || '';
  $('messages').replaceChildren(
    el(
      'li',
      { class: 'hint start-hint' },
      visibility === 'internal'
        ? `No internal conversation on ${itemName(item)} yet: your first note starts it, for users only.`
        : `No conversation with customers on ${itemName(item)} yet: your first message starts it.`,
    ),
  );
  drawItem();
  renderComposer();
  $('body').focus();
}

/**
 * Opens a conversation someone picked: a loading line while it comes (nothing can be sent
 * meanwhile), and a failure said in words.
 */
async function openFromList(id) {
  const list = $('messages');
  if (!state.current || state.current.id !== id) {
    showPane(true);
    $('subject').textContent = '';
    $('send').disabled = true;
    list.setAttribute('aria-busy', 'true');
    list.replaceChildren(el('li', { class: 'hint loading' }, 'Loading the conversation…'));
  }
  try {
    await openConversation(id);
    // Keyboard and screen-reader users land in what they opened, starting from its subject.
    $('subject').focus();
  } catch (e) {
    list.replaceChildren(el('li', { class: 'hint error', role: 'alert' }, e.status === 404 ? 'This conversation is no longer there for you.' : e.message));
  } finally {
    list.removeAttribute('aria-busy');
  }
}

/**
 * Shows the open conversation, or (false) the list alone: on a phone the two take turns on the
 * screen, and the pane's back button returns to the list.
 */
function showPane(open) {
  $('empty').hidden = open;
  $('conversation').hidden = !open;
  $('skip-conversation').hidden = !open;
  document.body.classList.toggle('conversation-open', open);
}

/** Back to the list (the phone's back button): the conversation closes, its row gets the focus. */
function closeConversation() {
  const was = state.current && state.current.id;
  state.current = null;
  state.item = null;
  state.looking.show(null, []);
  showPane(false);
  history.replaceState(null, '', '/');
  renderList();
  const row = was && document.querySelector(`#conversations li[data-id='${was}'] button`);
  (row || $('list-title')).focus();
}

/** The conversation `step` rows below (1) or above (-1) the open one in the list. */
function openNeighbour(step) {
  if (!state.list.length) return;
  const at = state.current ? state.list.findIndex((c) => c.id === state.current.id) : -1;
  const next = at < 0 ? (step > 0 ? 0 : state.list.length - 1) : at + step;
  if (next >= 0 && next < state.list.length) openFromList(state.list[next].id);
}

async function openConversation(id) {
  const switching = !state.current || state.current.id !== id;
  if (switching) state.freshNumber = null;
  const conversation = await api('GET', `/conversations/${id}`);
  state.current = conversation;
  if (switching) {
    $('body').value = drafts()[id] || '';
    state.tray.clear();
  }
  history.replaceState(null, '', `/c/${id}`);
  showPane(true);
  $('subject').textContent = conversation.subject;
  await showLink(conversation.link);
  await showCustomers(conversation);
  $('link-open').hidden = !!conversation.link;
  renderComposer();
  await loadMessages();
  renderList();
}

async function loadMessages() {
  if (state.current.pending) return;
  const id = state.current.id;
  const [messages, deliveries, changes] = await Promise.all([
    api('GET', `/conversations/${id}/messages?limit=200`),
    api('GET', `/conversations/${id}/deliveries?limit=200`),
    api('GET', `/conversations/${id}/state-changes`),
  ]);
  state.messages = messages;
  state.stateChanges = changes;
  state.deliveries = new Map(deliveries.map((d) => [d.message_id, d.records]));
  await ensureNames([
    ...messages.map((m) => m.author),
    ...changes.map((c) => c.by),
    ...deliveries.flatMap((d) => d.records.map((r) => r.party)),
  ]);
  renderMessages();
}

function marksOf(message) {
  const records = state.deliveries.get(message.id) || [];
  const seen = records.filter((r) => r.seen_at).map((r) => nameOf(r.party));
  const emailed = records.filter((r) => r.email_state === 'sent').map((r) => nameOf(r.party));
  const parts = [];
  if (seen.length) parts.push(`Seen by ${seen.join(', ')}`);
  if (emailed.length) parts.push(`Emailed to ${emailed.join(', ')}`);
  return parts.join(' · ');
}

/** R33: how long until a held reply leaves for customers ("Sending in 3 s…"). */
function sendingIn(until) {
  const left = Math.ceil((until - Date.now()) / 1000);
  return left > 0 ? `Sending in ${left} s…` : 'Sending…';
}

function isHeld(message) {
  return message.held_until && message.held_until > Date.now();
}

// R6 in the thread: a line where someone closed, locked, unlocked or reopened the conversation.
function stateLines() {
  let before = 'open';
  return (state.stateChanges || []).map((change) => {
    const verb = { closed: before === 'locked' ? 'unlocked' : 'closed', locked: 'locked', open: 'reopened' }[change.state];
    before = change.state;
    const mine = change.by.kind === 'user' && change.by.id === state.me.id;
    const line = el(
      'li',
      { class: `state-line ${change.state}`, 'data-state': change.state },
      `${mine ? 'You' : nameOf(change.by)} ${verb} this conversation `,
      el('time', { title: when(change.at) }, `· ${ago(change.at)}`),
    );
    return { at: change.at, line };
  });
}

function renderMessages() {
  const list = $('messages');
  const lines = state.current.pending ? [] : stateLines();
  const items = [
    ...state.messages.map((m) => {
      const body = el('div', { class: 'body' });
      // body_html is rendered from Markdown and sanitized by the server.
      body.innerHTML = m.body_html;
      const mine = m.author.kind === 'user' && m.author.id === state.me.id;
      const held = isHeld(m);
      return el(
        'li',
        {
          id: `m-${m.number}`,
          class: ['message', m.visibility, state.freshNumber === m.number ? 'fresh' : '', held ? 'held' : ''].join(' '),
          'data-number': m.number,
        },
        el(
          'header',
          {},
          el('span', { class: 'number' }, `#${m.number}`),
          el('strong', {}, nameOf(m.author)),
          el('time', {}, when(m.created_at)),
          m.visibility === 'internal' && state.current.visibility === 'public'
            ? el('span', { class: 'tag internal' }, 'Internal')
            : null,
          held ? el('span', { class: 'tag sending', 'data-until': String(m.held_until) }, sendingIn(m.held_until)) : null,
          // Written by email: admins may download the original mail, as it arrived, for 72 hours.
          m.channel === 'email' && state.me.role === 'admin'
            ? el('a', { class: 'tag email', href: `/api/v1/messages/${m.id}/original`, download: `message-${m.number}.eml`, title: 'The original email' }, 'by email')
            : null,
          m.channel === 'email' && state.me.role !== 'admin' ? el('span', { class: 'tag email' }, 'by email') : null,
        ),
        body,
        renderAttachments(m.attachments),
        held && mine
          ? el(
              'div',
              { class: 'undo' },
              el('button', { type: 'button', class: 'undo-send', onclick: () => retract(m, 'undo') }, 'Undo send'),
              el('button', { type: 'button', onclick: () => retract(m, 'make-internal') }, 'Make internal'),
            )
          : null,
        el('p', { class: 'marks' }, marksOf(m)),
      );
    }),
  ];
  // Messages and state lines by time; a line goes before a message of the same moment (a
  // message that reopened the conversation comes after the line saying so).
  const timeline = state.messages.map((m, i) => ({ at: m.created_at, order: 1, node: items[i] }));
  for (const { at, line } of lines) timeline.push({ at, order: 0, node: line });
  timeline.sort((a, b) => a.at - b.at || a.order - b.order);
  list.replaceChildren(...timeline.map((t) => t.node));
  // The time left of each held reply, every second; a re-render when one's guard ends.
  clearInterval(state.sendingTicker);
  if (state.messages.some(isHeld)) {
    state.sendingTicker = setInterval(() => {
      for (const tag of list.querySelectorAll('.tag.sending[data-until]')) tag.textContent = sendingIn(Number(tag.dataset.until));
    }, 1000);
  }
  // Re-render when a held message's guard ends, so "Sending…" and Undo go away.
  const nextRelease = Math.min(...state.messages.filter(isHeld).map((m) => m.held_until));
  if (Number.isFinite(nextRelease)) {
    clearTimeout(state.releaseTimer);
    // Clamped: timers longer than ~24 days fire at once, and clocks may disagree.
    state.releaseTimer = setTimeout(renderMessages, Math.min(Math.max(nextRelease - Date.now() + 50, 1000), 60000));
  }
  // The newest message (and a just-sent one with its Undo) in view, above the message box.
  const pane = $('pane');
  pane.scrollTop = pane.scrollHeight;
  // On a phone the page itself scrolls, not the pane.
  if (pane.scrollHeight <= pane.clientHeight) window.scrollTo(0, document.documentElement.scrollHeight);
  // R43: what is in view now, once shown, is what the reader has seen.
  state.looking.show(state.current.pending ? null : state.current.id, list.querySelectorAll('li.message[data-number]'));
}

async function retract(message, how) {
  try {
    await api('POST', `/messages/${message.id}/${how}`, {});
    if (how === 'undo' && state.current && state.current.id === message.conversation_id) {
      // Undo gives the text back for correction, before whatever was typed meanwhile.
      const typed = $('body').value.trim();
      $('body').value = typed ? `${message.body}\n\n${typed}` : message.body;
      saveDraft(message.conversation_id, $('body').value);
      $('body').focus();
      refreshPreview();
    }
    await loadMessages();
  } catch (e) {
    $('send-error').textContent = e.message;
  }
}

const ACTIONS = { open: [['close', 'Close']], closed: [['lock', 'Lock'], ['reopen', 'Reopen']], locked: [['unlock', 'Unlock']] };

function renderComposer() {
  const c = state.current;
  const kind = $('composer-kind');
  const composer = $('composer');
  composer.className = c.visibility === 'internal' ? 'internal' : 'public';
  kind.textContent =
    c.visibility === 'internal'
      ? 'Internal message — users only, never customers'
      : 'Customer reply — customers in this conversation will receive it';
  const locked = c.state === 'locked';
  $('body').disabled = locked;
  $('send').disabled = locked;
  // Files go into an existing conversation: an item's first message starts it without any.
  $('attach-input').disabled = locked || !!c.pending;
  $('saved-open').disabled = locked || !!c.pending;
  $('attach-label').title = c.pending ? 'Send the first message, then attach files' : 'Attach files (or paste or drop them in the message box)';
  $('locked-reason').hidden = !locked;
  $('locked-reason').textContent = locked ? 'This conversation is locked: unlock it to send.' : '';
  $('state-actions').replaceChildren(
    c.pending ? null : el('span', { class: `tag state ${c.state}` }, c.state),
    ...(c.pending ? [] : ACTIONS[c.state] || []).map(([action, label]) =>
      el('button', { type: 'button', 'data-action': action, onclick: () => changeState(action) }, label),
    ),
  );
  refreshPreview();
}

async function changeState(action) {
  try {
    state.current = await api('POST', `/conversations/${state.current.id}/state`, { action });
    renderComposer();
    await loadMessages();
    if (state.item) {
      const i = state.itemConversations.findIndex((x) => x.id === state.current.id);
      if (i >= 0) state.itemConversations[i] = state.current;
      drawItem();
      offerToCloseItem(action);
    }
    await loadList();
  } catch (e) {
    $('send-error').textContent = e.message;
  }
}

// Closing a conversation on an item offers to close the item too, unless it is closed already.
function offerToCloseItem(action) {
  const item = state.item;
  const offer = action === 'close' && item.status !== 'closed';
  $('close-offer').hidden = !offer;
  if (!offer) return;
  $('close-offer-text').textContent = `Conversation closed. Close ${itemName(item)} too?`;
  $('close-item').textContent = `Close ${itemName(item)}`;
  $('close-item').onclick = async () => {
    try {
      state.item = await api('PATCH', `/items/${item.id}`, { status: 'closed' });
      $('close-offer').hidden = true;
      drawItem();
    } catch (e) {
      $('item-error').textContent = e.message;
    }
  };
}

let previewTimer = null;
function refreshPreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    if (!state.current || state.current.state === 'locked') {
      $('preview').replaceChildren();
      return;
    }
    if (state.current.pending) {
      // Who a conversation reaches is decided when it exists: say whom it starts with.
      $('preview').replaceChildren(
        el(
          'span',
          {},
          state.current.visibility === 'internal'
            ? `Will reach the users who follow ${itemName(state.item)} and anyone you @mention — never customers.`
            : `Will reach the requesters and followers of ${itemName(state.item)}, customers included.`,
        ),
      );
      return;
    }
    try {
      const audience = await api('POST', `/conversations/${state.current.id}/recipients-preview`, {
        body: $('body').value,
      });
      await ensureNames(audience.recipients.map((r) => r.party));
      const people = audience.recipients.map((r) =>
        el(
          'li',
          { class: r.party.kind, title: r.reasons.join(', ').replaceAll('_', ' ') },
          nameOf(r.party),
          r.party.kind === 'customer' ? ' (customer)' : '',
        ),
      );
      $('preview').replaceChildren(
        el('span', {}, people.length ? 'Will reach:' : 'Will reach nobody yet.'),
        el('ul', {}, people),
      );
    } catch (e) {
      $('preview').textContent = e.message;
    }
  }, 250);
}

async function send(event) {
  event.preventDefault();
  const body = $('body').value.trim();
  const attachments = state.tray.ids();
  if (!body && !attachments.length) return;
  if (state.tray.busy()) {
    $('send-error').textContent = 'Wait until the files are uploaded.';
    return;
  }
  $('send-error').textContent = '';
  $('send').disabled = true;
  try {
    if (state.current.pending) {
      await startWith(body);
      return;
    }
    const sentTo = state.current.id;
    const posted = await api('POST', `/conversations/${sentTo}/messages`, { body, attachments });
    saveDraft(sentTo, '');
    if (state.current.id === sentTo) {
      $('body').value = '';
      state.tray.clear();
      state.messages.push(posted.message);
      state.deliveries.set(posted.message.id, []);
      renderMessages();
      refreshPreview();
    }
    await loadList();
  } catch (e) {
    $('send-error').textContent = e.message;
  } finally {
    $('send').disabled = state.current.state === 'locked';
  }
}

// The first message of an item's conversation of the open tab's visibility starts it.
async function startWith(body) {
  const pending = state.current;
  const conversation = await api('POST', '/conversations', {
    subject: pending.subject,
    item_id: pending.link.id,
    visibility: pending.visibility,
    body,
  });
  saveDraft(draftId(pending), '');
  await openConversation(conversation.id);
  await loadList();
}

/** A new message from someone else, said to screen readers: who, where, and its first words. */
async function announceMessage(m, here) {
  if (m.author.kind === 'user' && m.author.id === state.me.id) return;
  await ensureNames([m.author]);
  const words = (m.body || '').replace(/\s+/g, ' ').trim();
  const excerpt = words.length > 120 ? `${words.slice(0, 120)}…` : words || 'a file';
  const row = state.list.find((c) => c.id === m.conversation_id);
  const where = here ? '' : ` in ${row ? row.subject : 'another conversation'}`;
  announce(`New message from ${nameOf(m.author)}${where}: ${excerpt}`);
}

async function onEvent(event) {
  switch (event.type) {
    case 'hello':
      state.looking.reconnected();
      state.views = event.views;
      if (!state.view && state.views.length) state.view = state.views[0].view;
      renderSidebar();
      break;
    case 'counts':
      // Only the views a write changed; the others keep their counts.
      for (const changed of event.views) {
        const i = state.views.findIndex((v) => v.view === changed.view);
        if (i >= 0) state.views[i] = changed;
      }
      renderSidebar();
      break;
    case 'message': {
      const m = event.message;
      if (event.sound) chime();
      const here = state.current && state.current.id === m.conversation_id;
      state.freshConversation = m.conversation_id;
      if (state.current && state.current.id === m.conversation_id) {
        await ensureNames([m.author]);
        if (!state.messages.some((x) => x.id === m.id)) state.messages.push(m);
        state.freshNumber = m.number;
        // Read and seen only once it is in view of a visible page (R43: `looking.js`).
        renderMessages();
      }
      await loadList();
      await announceMessage(m, here);
      break;
    }
    case 'state':
      if (state.current && state.current.id === event.conversation_id) {
        state.current.state = event.state;
        renderComposer();
        await loadMessages();
      }
      if (state.item && state.itemConversations.some((c) => c.id === event.conversation_id)) {
        state.itemConversations = state.itemConversations.map((c) => (c.id === event.conversation_id ? { ...c, state: event.state } : c));
        drawItem();
      }
      await loadList();
      break;
    case 'seen':
    case 'retracted':
      if (state.current && event.receipts?.some((r) => r.conversation_id === state.current.id)) await loadMessages();
      if (state.current && event.message?.conversation_id === state.current.id) await loadMessages();
      break;
    case 'session_ended':
      location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
      break;
    case 'connection':
      state.showConnection(event.live);
      // Back: what was missed is replayed, or a resync follows; the list is read again either way.
      if (event.live) await loadList();
      break;
    case 'resync':
      state.views = await api('GET', '/views');
      renderSidebar();
      await loadList();
      if (state.current && !state.current.pending) await openConversation(state.current.id);
      break;
  }
}

async function boot() {
  const me = await api('GET', '/me');
  if (me.kind !== 'user') {
    location.assign('/login');
    return;
  }
  state.me = me.user;
  $('me').textContent = me.user.name;
  state.looking = watchLooking((report) => (state.realtime ? state.realtime.send(report) : false));
  // R42: away, new conversations pass me by; colleagues see it.
  const showAway = (away) => {
    $('away').setAttribute('aria-pressed', String(away));
    $('away').textContent = away ? 'Away' : 'Available';
  };
  showAway(Boolean(me.user.away));
  $('away').addEventListener('click', async () => {
    const user = await api('PUT', '/me/away', { away: $('away').getAttribute('aria-pressed') !== 'true' });
    showAway(user.away);
    announce(user.away ? 'You are away: new conversations go to others.' : 'You are available.');
  });
  $('logout').addEventListener('click', async () => {
    await api('POST', '/auth/logout', {});
    location.assign('/login');
  });
  $('composer').addEventListener('submit', send);
  state.tray = new Tray($('attach-tray'), uploadFile);
  const attach = (files) => {
    if (!state.current || state.current.pending || state.current.state === 'locked') return;
    state.tray.add(state.current.id, files);
  };
  $('attach-input').addEventListener('change', () => {
    attach($('attach-input').files);
    $('attach-input').value = '';
  });
  acceptDrops($('body'), attach);
  setUpSavedReplies({
    box: $('body'),
    button: $('saved-open'),
    menu: $('saved-menu'),
    // An item's first conversation does not exist yet: nothing to fill a reply for.
    conversation: () => (state.current && !state.current.pending ? state.current.id : null),
    changed: () => {
      saveDraft(draftId(), $('body').value);
      refreshPreview();
    },
    failed: (message) => { $('send-error').textContent = message; },
  });
  setUpSearch($('search'), $('search-results'), (hit) => {
    if (hit.conversation) openFromList(hit.conversation);
    else location.assign(`/items/${hit.item}`);
  });
  $('add').addEventListener('click', openAdd);
  $('back').addEventListener('click', closeConversation);
  $('shortcuts-open').addEventListener('click', () => $('shortcuts-dialog').showModal());
  setUpShortcuts($('shortcuts-dialog'), [
    { keys: ['/'], label: 'Search' },
    { keys: ['j'], label: 'Open the next conversation in the list', run: () => openNeighbour(1) },
    { keys: ['k'], label: 'Open the previous conversation in the list', run: () => openNeighbour(-1) },
    { keys: ['r'], label: 'Write in the message box', run: () => state.current && !$('body').disabled && $('body').focus() },
    { keys: ['Escape'], label: 'Back to the list', run: () => state.current && closeConversation() },
    { keys: ['Ctrl+Enter'], label: 'Send the message (in the message box)' },
  ]);
  $('older').addEventListener('click', loadOlder);
  $('list-filter').addEventListener('change', async () => {
    state.filter = $('list-filter').value;
    await loadList();
  });
  // Relative times ("3 min") move on by themselves.
  setInterval(renderList, 60000);
  $('add-form').addEventListener('submit', startConversation);
  $('add-cancel').addEventListener('click', () => $('add-dialog').close());
  $('add-filter').addEventListener('input', searchPeople);
  for (const radio of document.querySelectorAll('input[name="start-as"]')) radio.addEventListener('change', renderPeoplePicker);
  $('link-open').addEventListener('click', openLink);
  $('link-form').addEventListener('submit', linkConversation);
  $('link-cancel').addEventListener('click', () => $('link-dialog').close());
  $('link-project').addEventListener('change', loadLinkItems);
  for (const radio of document.querySelectorAll('input[name="link-mode"]')) radio.addEventListener('change', linkModeChanged);
  $('close-item-no').addEventListener('click', () => {
    $('close-offer').hidden = true;
  });
  $('body').addEventListener('input', () => {
    if (state.current) saveDraft(draftId(), $('body').value);
    refreshPreview();
  });
  $('body').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('composer').requestSubmit();
  });
  await loadNames();
  state.views = await api('GET', '/views');
  state.view = (state.views.find((v) => v.total > 0) || state.views[0] || {}).view || null;
  renderSidebar();
  await loadList();
  const match = location.pathname.match(/^\/c\/(\d+)$/);
  if (match) await openConversation(Number(match[1]));
  state.showConnection = connectionBanner($('connection'));
  state.realtime = connectRealtime(onEvent);
}

boot().catch((e) => {
  if (e.status === 401) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  else document.body.prepend(el('p', { role: 'alert', class: 'fatal' }, e.message));
});
