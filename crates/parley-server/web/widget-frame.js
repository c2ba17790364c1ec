// The chat inside the widget's frame. A visitor is an anonymous customer whose session token is
// kept in this frame's storage and sent as a bearer token (no third-party cookies involved).
import { api, chime, connectionBanner, el, when } from './api.js';
import { announce } from './keyboard.js';
import { authorNames } from './authors.js';
import { acceptDrops, renderAttachments, Tray, uploadFile } from './attachments.js';
import { watchLooking } from './looking.js';

const $ = (id) => document.getElementById(id);
const KEY = 'parley.widget';
const saved = JSON.parse(localStorage.getItem(KEY) || '{}');
const state = {
  token: saved.token || null,
  conversation: saved.conversation || null,
  // The newest message the visitor was shown (R43), for the launcher's unread count.
  readUpTo: saved.readUpTo || 0,
  me: null,
  messages: [],
  socket: null,
  lastEventId: null,
};

function save() {
  localStorage.setItem(KEY, JSON.stringify({ token: state.token, conversation: state.conversation, readUpTo: state.readUpTo }));
}

// The frame sits on someone else's page, hidden until the visitor opens the chat: only the page
// that embeds it (`widget.js`) knows whether the panel is open, and says so by `postMessage`.
// Opened on its own, the frame is the panel.
const embedded = window.parent !== window;
let panelOpen = !embedded;

/** Tells the embedding page how many replies wait unseen, and whether to ring for a new one. */
function tellLauncher(ring = false) {
  if (!embedded) return;
  const mine = (m) => m.author.kind === 'customer' && state.me && m.author.id === state.me.id;
  const unread = state.messages.filter((m) => !mine(m) && m.number > state.readUpTo).length;
  // Nothing private: a count. The embedding page's origin is not known here, so any may hear it.
  window.parent.postMessage({ parley: 'unread', count: unread, ring }, '*');
}

const looking = watchLooking((report) => {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return false;
  state.socket.send(JSON.stringify(report));
  return true;
}, {
  shown: () => panelOpen,
  onRead: (_conversation, newest) => {
    state.readUpTo = Math.max(state.readUpTo, newest);
    save();
    tellLauncher();
  },
});

window.addEventListener('message', (event) => {
  // Only the page that embeds this frame opens and closes its panel.
  if (!embedded || event.source !== window.parent || !event.data || event.data.parley !== 'panel') return;
  panelOpen = Boolean(event.data.open);
  looking.changed();
});

const auth = () => (state.token ? { authorization: `Bearer ${state.token}` } : {});

/** The API with the visitor's token (errors in words, as everywhere: see `api`). */
const call = (method, path, body) => api(method, path, body, auth());


// The frame cannot count on cookies (it is a third party on the site that embeds it), so files
// are fetched with the token and shown from object URLs, each fetched once.
const fetched = new Map();
function blob(a) {
  if (!fetched.has(a.id)) {
    fetched.set(a.id, fetch(`/api/v1/attachments/${a.id}`, { headers: auth() }).then((res) => {
      if (!res.ok) throw new Error(`unavailable (${res.status})`);
      return res.blob();
    }).then((b) => URL.createObjectURL(b)));
  }
  return fetched.get(a.id);
}

const showConnection = connectionBanner($('connection'));

// Who answers, as the company names its team to customers.
const names = authorNames((id) => call('GET', `/messages/${id}/author`));

const tray = new Tray($('attach-tray'), (id, file) => uploadFile(id, file, auth()));

/** The company's greeting and promised reply time: the first thing in the chat. */
function welcomeBubble() {
  const w = state.welcome;
  if (!w) return null;
  return el('li', { id: 'welcome', class: 'bubble theirs welcome' }, el('p', {}, w.greeting), w.reply_time ? el('p', { class: 'reply-time' }, w.reply_time) : null);
}

function render() {
  $('messages').replaceChildren(
    welcomeBubble(),
    ...state.messages.map((m) => {
      const mine = m.author.kind === 'customer' && state.me && m.author.id === state.me.id;
      const body = el('div', { class: 'body' });
      // Rendered from Markdown and sanitized by the server.
      body.innerHTML = m.body_html;
      const who = mine ? null : el('strong', { class: 'author' }, names.of(m.author) || 'Support');
      return el('li', { class: `bubble ${mine ? 'mine' : 'theirs'}`, 'data-number': m.number }, who, body, renderAttachments(m.attachments, blob), el('time', {}, when(m.created_at)));
    }),
  );
  const last = $('messages').lastElementChild;
  if (last) last.scrollIntoView({ block: 'end' });
  // R43: seen once in view with the panel open in a visible page.
  looking.show(state.conversation, $('messages').querySelectorAll('li[data-number]'));
  tellLauncher();
  const needsContact = state.me && !state.me.email && state.messages.length;
  const pending = needsContact && state.me.unverified_email && !state.changingAddress;
  $('contact').hidden = !needsContact || pending;
  $('verify').hidden = !pending;
  // The address the visitor gave, said back to them: where replies they miss will go.
  const address = state.me && (state.me.email || state.me.unverified_email);
  $('contact-saved').hidden = !address || !state.messages.length || state.changingAddress;
  if (address) {
    $('contact-saved').textContent = state.me.email
      ? `Your address ${state.me.email} is confirmed: replies you miss go there.`
      : `Thanks! Replies you miss will be emailed to ${state.me.unverified_email}.`;
  }
  if (pending) $('verify-label').textContent = `Enter the code we emailed to ${state.me.unverified_email} to confirm it:`;
}

function connect() {
  if (!state.token || state.socket) return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const params = new URLSearchParams({ access_token: state.token });
  if (state.lastEventId) params.set('last_event_id', state.lastEventId);
  const socket = new WebSocket(`${scheme}//${location.host}/api/v1/realtime?${params}`);
  state.socket = socket;
  socket.onopen = () => {
    showConnection(true);
    looking.reconnected();
  };
  socket.onmessage = async (frame) => {
    const event = JSON.parse(frame.data);
    if (event.id) state.lastEventId = event.id;
    if (event.type === 'message' && event.message.conversation_id === state.conversation) {
      const m = event.message;
      if (!state.messages.some((x) => x.id === m.id)) {
        state.messages.push(m);
        await names.learn([m]);
        if (m.author.kind !== 'customer') announce(`${names.of(m.author) || 'Support'}: ${(m.body || '').slice(0, 160) || 'a file'}`);
      }
      render();
      // Closed, the launcher rings; open, the chat does.
      if (event.sound && panelOpen) chime();
      else if (event.sound) tellLauncher(true);
    } else if (event.type === 'state' && event.conversation_id === state.conversation) {
      setLocked(event.state === 'locked');
    } else if (event.type === 'resync') {
      load();
    }
  };
  socket.onclose = (closed) => {
    state.socket = null;
    // 4001: this session ended: start over — unless it ended because the visitor just proved
    // their address and the chat moved to that customer, whose session is on its way.
    if (closed.code === 4001 && !state.verifying) setTimeout(() => load().catch(() => {}), 200);
    else setTimeout(connect, state.verifying ? 100 : 1000);
    // Said only for a connection lost by itself: a session replaced on purpose comes straight back.
    if (closed.code !== 4001 && !state.verifying) showConnection(false);
  };
}

function setLocked(locked) {
  $('body').disabled = locked;
  $('send').disabled = locked;
  $('attach-input').disabled = locked;
  $('locked-reason').hidden = !locked;
  $('locked-reason').textContent = locked ? 'This chat is closed for new messages.' : '';
}

async function load() {
  if (!state.token) return;
  try {
    const me = await call('GET', '/me');
    state.me = me.customer;
  } catch (e) {
    if (e.status === 401) {
      Object.assign(state, { token: null, conversation: null, me: null, messages: [], readUpTo: 0 });
      save();
      render();
      return;
    }
    throw e;
  }
  if (state.conversation) {
    try {
      const conversation = await call('GET', `/conversations/${state.conversation}`);
      setLocked(conversation.state === 'locked');
      state.messages = await call('GET', `/conversations/${state.conversation}/messages?limit=200`);
      await names.learn(state.messages);
    } catch (e) {
      if (e.status !== 404) throw e;
      state.conversation = null;
      save();
    }
  }
  render();
  connect();
}

// The visitor's session and chat, started by their first message or file.
async function ensureChat() {
  if (!state.token) {
    const session = await call('POST', '/widget/visitors', {});
    state.token = session.token;
    state.me = session.customer;
    save();
  }
  if (!state.conversation) {
    const conversation = await call('POST', '/conversations', { subject: `Live chat with ${state.me.name}`, visibility: 'public' });
    state.conversation = conversation.id;
    save();
  }
}

async function attach(files) {
  // Taken at once: the input is cleared right after, and its list with it.
  const picked = [...files];
  $('send-error').textContent = '';
  try {
    await ensureChat();
    await tray.add(state.conversation, picked);
  } catch (e) {
    $('send-error').textContent = e.message;
  }
}

async function send(event) {
  event.preventDefault();
  const body = $('body').value.trim();
  const attachments = tray.ids();
  if (!body && !attachments.length) return;
  if (tray.busy()) {
    $('send-error').textContent = 'Wait until the files are uploaded.';
    return;
  }
  $('send-error').textContent = '';
  try {
    await ensureChat();
    const posted = await call('POST', `/conversations/${state.conversation}/messages`, { body, channel: 'widget', attachments });
    $('body').value = '';
    tray.clear();
    state.messages.push(posted.message);
    render();
    connect();
  } catch (e) {
    $('send-error').textContent = e.message;
  }
}

async function saveContact(event) {
  event.preventDefault();
  $('contact-status').textContent = '';
  try {
    state.me = await call('POST', '/widget/contact', { email: $('contact-email').value.trim() });
    state.changingAddress = false;
    render();
    $('verify-code').focus();
  } catch (e) {
    $('contact-status').textContent = e.message;
  }
}

// R36: the emailed code proves the address; the chat may then move to the customer who owns it,
// whose session replaces the visitor's.
async function verify(event) {
  event.preventDefault();
  $('verify-status').textContent = '';
  state.verifying = true;
  try {
    const answer = await call('POST', '/widget/verify', { code: $('verify-code').value.trim() });
    state.me = answer.customer;
    if (answer.session) {
      // The chat moved to the customer who owns the address: continue as them.
      state.token = answer.session.token;
      save();
      if (state.socket) state.socket.close();
      await load();
    }
    render();
  } catch (e) {
    $('verify-status').textContent = e.message;
  } finally {
    state.verifying = false;
  }
}

$('composer').addEventListener('submit', send);
$('attach-input').addEventListener('change', () => {
  attach($('attach-input').files);
  $('attach-input').value = '';
});
acceptDrops($('body'), attach);
$('contact').addEventListener('submit', saveContact);
$('verify').addEventListener('submit', verify);
$('verify-change').addEventListener('click', () => {
  state.changingAddress = true;
  render();
});
$('body').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});
// The company's greeting and the reply time it promises, above the chat.
call('GET', '/welcome')
  .then((welcome) => {
    state.welcome = welcome;
    render();
  })
  .catch(() => {});
load().catch((e) => { $('send-error').textContent = e.message; });
// Ask the embedding page whether the panel is open (it answers with a `panel` message).
if (embedded) window.parent.postMessage({ parley: 'ready' }, '*');
