// The customer portal: the customer's requests and public conversations, and replying to them.
// It shows only what the API gives a customer, which never includes anything internal.
import { ago, api, chime, connectionBanner, connectRealtime, el, sameOriginPath, unreadBadge, when } from './api.js';
import { watchLooking } from './looking.js';
import { announce } from './keyboard.js';
import { authorNames } from './authors.js';
import { setUpSearch } from './search.js';
import { acceptDrops, renderAttachments, Tray, uploadFile } from './attachments.js';

const $ = (id) => document.getElementById(id);
const state = { me: null, current: null, messages: [], realtime: null, tray: null };

// The team as the company names it to customers (each by name, or one display name).
const names = authorNames((id) => api('GET', `/messages/${id}/author`));

function authorName(author) {
  if (author.kind === 'customer' && author.id === state.me.id) return 'You';
  return names.of(author) || (author.kind === 'customer' ? 'Customer' : 'Support');
}

async function showSignIn() {
  $('signin').hidden = false;
  $('password-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', '/auth/customer-login', { email: $('email').value.trim(), password: $('password').value });
      // A file linked from an email sent the customer here to log in first.
      const next = new URLSearchParams(location.search).get('next');
      if (next) location.assign(sameOriginPath(next, location.pathname));
      else location.reload();
    } catch (e) {
      $('password-error').textContent = e.message;
    }
  });
  $('link-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const linked = location.pathname.match(/^\/portal\/c\/(\d+)$/);
      const body = { email: $('link-email').value.trim() };
      if (linked) body.conversation_id = Number(linked[1]);
      await api('POST', '/auth/customer-link', body);
      $('link-status').textContent = 'If this address is known to us, a login link is on its way.';
    } catch (e) {
      $('link-status').textContent = e.message;
    }
  });
}

async function loadItems() {
  const items = await api('GET', '/me/items');
  $('items').replaceChildren(
    ...items.map((item) =>
      el(
        'li',
        { 'data-item': item.id },
        el(
          'button',
          { type: 'button', onclick: () => openItem(item) },
          el('span', { class: 'subject' }, item.title),
          el('span', { class: 'tag state' }, `${item.kind} #${item.id}`),
          el('span', { class: 'item-status' }, item.status.replace('_', ' ')),
        ),
      ),
    ),
  );
}

/** A request picked from the list: its latest conversation with the customer opens. */
async function openItem(item) {
  const conversations = await api('GET', `/items/${item.id}/conversations`);
  const latest = conversations.sort((a, b) => b.last_activity_at - a.last_activity_at)[0];
  if (latest) return openAndFocus(latest.id);
  state.current = null;
  showPane('empty', true);
  $('empty').textContent = `${item.title}: nobody has written about it yet. We will answer here.`;
}

/**
 * Shows one of the pane's parts: the open conversation, the new request form, or a line. On a
 * phone the pane and the list take turns: `open` says whether the pane is what is shown.
 */
function showPane(part, open = part !== 'empty') {
  $('conversation').hidden = part !== 'conversation';
  $('new-request').hidden = part !== 'request';
  $('empty').hidden = part !== 'empty';
  document.body.classList.toggle('pane-open', open);
}

/** Back to the list (a phone's back button): the focus goes to the conversation just left. */
function backToList() {
  const was = state.current && state.current.id;
  state.current = null;
  state.looking.show(null, []);
  $('empty').textContent = 'Pick a conversation.';
  showPane('empty');
  const row = was && document.querySelector(`#conversations li[data-id='${was}'] button`);
  if (row) row.focus();
}

function openNewRequest() {
  state.current = null;
  showPane('request');
  $('request-error').textContent = '';
  $('request-title').focus();
}

async function sendRequest(event) {
  event.preventDefault();
  $('request-error').textContent = '';
  $('request-send').disabled = true;
  try {
    const opened = await api('POST', '/me/requests', { title: $('request-title').value.trim(), body: $('request-body').value });
    $('new-request').reset();
    await loadItems();
    await openAndFocus(opened.conversation.id);
  } catch (e) {
    $('request-error').textContent = e.message;
  } finally {
    $('request-send').disabled = false;
  }
}

async function loadConversations() {
  const [open, closed] = await Promise.all([api('GET', '/views/portal_open'), api('GET', '/views/portal_closed')]);
  const all = [...open.conversations, ...closed.conversations];
  $('conversations').replaceChildren(
    ...all.map((c) =>
      el(
        'li',
        { class: `conversation ${state.current && state.current.id === c.id ? 'open' : ''}`, 'data-id': c.id },
        el(
          'button',
          { type: 'button', onclick: () => openAndFocus(c.id) },
          el('span', { class: 'subject' }, c.subject),
          c.state !== 'open' ? el('span', { class: 'tag state' }, c.state) : null,
          c.unread ? unreadBadge(c.unread) : null,
          el('time', { datetime: new Date(c.last_activity_at).toISOString(), title: when(c.last_activity_at) }, ago(c.last_activity_at)),
          c.last_message
            ? el('span', { class: 'preview' }, el('strong', {}, `${authorName(c.last_message.author)}: `), c.last_message.excerpt || 'sent a file')
            : null,
        ),
      ),
    ),
  );
  const unread = all.reduce((n, c) => n + (c.unread ? 1 : 0), 0);
  document.title = unread ? `(${unread}) Support portal` : 'Support portal';
}

async function openConversation(id) {
  const switching = !state.current || state.current.id !== id;
  state.current = await api('GET', `/conversations/${id}`);
  if (switching) state.tray.clear();
  showPane('conversation');
  $('subject').textContent = state.current.subject;
  $('conversation-state').textContent = state.current.state === 'open' ? '' : `This conversation is ${state.current.state}.`;
  const locked = state.current.state === 'locked';
  $('body').disabled = locked;
  $('send').disabled = locked;
  $('attach-input').disabled = locked;
  $('locked-reason').hidden = !locked;
  $('locked-reason').textContent = locked ? 'This conversation is locked: replies are closed.' : '';
  state.messages = await api('GET', `/conversations/${id}/messages?limit=200`);
  await names.learn(state.messages);
  renderMessages();
  await loadConversations();
}

/** Opens a conversation someone picked, and moves the focus into it (to its subject). */
async function openAndFocus(id) {
  await openConversation(id);
  $('subject').focus();
}

function renderMessages() {
  $('messages').replaceChildren(
    ...state.messages.map((m) => {
      const body = el('div', { class: 'body' });
      // Rendered from Markdown and sanitized by the server.
      body.innerHTML = m.body_html;
      return el(
        'li',
        { class: 'message public', 'data-number': m.number },
        el('header', {}, el('strong', {}, authorName(m.author)), el('time', {}, when(m.created_at))),
        body,
        renderAttachments(m.attachments),
      );
    }),
  );
  const last = $('messages').lastElementChild;
  if (last) last.scrollIntoView({ block: 'end' });
  // R43: read and seen once in view of a visible page.
  state.looking.show(state.current ? state.current.id : null, $('messages').querySelectorAll('li[data-number]'));
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
  try {
    const posted = await api('POST', `/conversations/${state.current.id}/messages`, { body, channel: 'portal', attachments });
    $('body').value = '';
    state.tray.clear();
    state.messages.push(posted.message);
    renderMessages();
    await loadConversations();
  } catch (e) {
    $('send-error').textContent = e.message;
  }
}

async function onEvent(event) {
  if (event.type === 'message') {
    if (event.sound) chime();
    const m = event.message;
    const here = state.current && state.current.id === m.conversation_id;
    await names.learn([m]);
    if (m.author.kind !== 'customer' || m.author.id !== state.me.id) {
      const words = (m.body || '').replace(/\s+/g, ' ').trim();
      announce(`New message from ${authorName(m.author)}${here ? '' : ' in another conversation'}: ${words.slice(0, 120) || 'a file'}`);
    }
    if (here) {
      if (!state.messages.some((x) => x.id === m.id)) state.messages.push(m);
      renderMessages();
    }
    await Promise.all([loadConversations(), loadItems()]);
  } else if (event.type === 'state') {
    if (state.current && state.current.id === event.conversation_id) await openConversation(event.conversation_id);
    else await loadConversations();
  } else if (event.type === 'hello') {
    state.looking.reconnected();
  } else if (event.type === 'session_ended') {
    location.assign('/portal/login');
  } else if (event.type === 'resync') {
    await loadConversations();
  } else if (event.type === 'connection') {
    showConnection(event.live);
    // Back: what was missed is replayed, or a resync follows; the list is read again either way.
    if (event.live) await loadConversations();
  }
}

let showConnection = () => {};

async function boot() {
  let me;
  try {
    me = await api('GET', '/me');
  } catch (e) {
    if (e.status === 401) return showSignIn();
    throw e;
  }
  if (me.kind !== 'customer') {
    $('signin').hidden = false;
    $('password-error').textContent = 'You are logged in as staff: the portal is for customers.';
    return showSignIn();
  }
  state.me = me.customer;
  $('me').textContent = me.customer.name;
  state.looking = watchLooking((report) => (state.realtime ? state.realtime.send(report) : false));
  $('logout').hidden = false;
  $('logout').addEventListener('click', async () => {
    await api('POST', '/auth/logout', {});
    location.reload();
  });
  $('portal').hidden = false;
  $('search').hidden = false;
  setUpSearch($('search'), $('search-results'), (hit) => hit.conversation && openAndFocus(hit.conversation), {
    conversation: (id) => `/portal/c/${id}`,
    item: null,
  });
  $('composer').addEventListener('submit', send);
  $('new-request').addEventListener('submit', sendRequest);
  $('request-cancel').addEventListener('click', () => {
    $('empty').textContent = 'Pick a conversation.';
    showPane('empty');
  });
  $('new-request-open').addEventListener('click', openNewRequest);
  $('back').addEventListener('click', backToList);
  api('GET', '/welcome').then((welcome) => { $('new-request-open').hidden = !welcome.portal_requests; }).catch(() => {});
  state.tray = new Tray($('attach-tray'), uploadFile);
  const attach = (files) => state.current && state.current.state !== 'locked' && state.tray.add(state.current.id, files);
  $('attach-input').addEventListener('change', () => {
    attach($('attach-input').files);
    $('attach-input').value = '';
  });
  acceptDrops($('body'), attach);
  await Promise.all([loadItems(), loadConversations()]);
  showConnection = connectionBanner($('connection'));
  state.realtime = connectRealtime(onEvent);
  // A link from an email names one conversation: /portal/c/<id>.
  const linked = location.pathname.match(/^\/portal\/c\/(\d+)$/);
  if (linked) {
    try {
      await openConversation(Number(linked[1]));
    } catch (e) {
      $('empty').textContent = e.status === 404 ? 'This conversation is not one of yours.' : e.message;
    }
  }
}

boot().catch((e) => document.body.prepend(el('p', { role: 'alert', class: 'fatal' }, e.message)));
