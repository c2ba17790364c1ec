// Projects and their items in a grid; an item's fields, people and conversations (R2, R3, R28).
import { api, el, when } from './api.js';

const $ = (id) => document.getElementById(id);
const state = { projects: [], project: null, users: [], customers: [], company: null };

const nameOf = (party) => {
  const list = party.kind === 'user' ? state.users : state.customers;
  const person = list.find((p) => p.id === party.id);
  return person ? person.name : `${party.kind} #${party.id}`;
};

/** Customers are fetched a page at a time; people named on an item are fetched if not known yet. */
async function ensureCustomers(ids) {
  const missing = [...new Set(ids)].filter((id) => !state.customers.some((c) => c.id === id));
  const found = await Promise.all(missing.map((id) => api('GET', `/customers/${id}`).catch(() => null)));
  state.customers.push(...found.filter(Boolean));
}

function showError(e) {
  $('item-error').textContent = e.message;
}

async function loadProjects() {
  state.projects = await api('GET', '/projects');
  $('project-list').replaceChildren(
    ...state.projects.map((p) =>
      el('li', {}, el('button', { type: 'button', 'aria-current': state.project === p.id ? 'true' : false, onclick: () => showProject(p.id) }, p.name)),
    ),
  );
}

async function showProject(id) {
  state.project = id;
  history.pushState(null, '', '/items');
  $('grid-view').hidden = false;
  $('item-view').hidden = true;
  await loadProjects();
  const project = state.projects.find((p) => p.id === id);
  $('project-title').textContent = project ? project.name : 'Items';
  const items = await api('GET', `/projects/${id}/items`);
  await ensureCustomers(items.flatMap((i) => i.requesters));
  $('grid').tBodies[0].replaceChildren(
    ...items.map((i) =>
      el(
        'tr',
        { 'data-item': i.id },
        el('td', {}, `#${i.id}`),
        el('td', {}, i.kind),
        el('td', {}, el('a', { href: `/items/${i.id}` }, i.title)),
        el('td', {}, i.status.replace('_', ' ')),
        el('td', {}, i.requesters.map((c) => nameOf({ kind: 'customer', id: c })).join(', ')),
        el('td', {}, i.assignees.map((u) => nameOf({ kind: 'user', id: u })).join(', ')),
      ),
    ),
  );
}

async function showItem(id) {
  const item = await api('GET', `/items/${id}`);
  await ensureCustomers([...item.requesters, ...item.followers.filter((p) => p.kind === 'customer').map((p) => p.id)]);
  state.project = item.project_id;
  $('grid-view').hidden = true;
  $('item-view').hidden = false;
  $('item-kind').textContent = `${item.kind} #${item.id}`;
  $('item-title').value = item.title;
  // The title is edited in place; the page's heading says it for screen readers.
  $('item-heading').textContent = `${item.kind} #${item.id}: ${item.title}`;
  $('item-status').value = item.status;
  document.title = `${item.title} · Parley`;
  const roles = {
    requester: { have: item.requesters.map((id) => ({ kind: 'customer', id })), pool: state.customers.map((c) => ({ kind: 'customer', id: c.id })) },
    assignee: { have: item.assignees.map((id) => ({ kind: 'user', id })), pool: state.users.map((u) => ({ kind: 'user', id: u.id })) },
    follower: {
      have: item.followers,
      pool: [...state.users.map((u) => ({ kind: 'user', id: u.id })), ...state.customers.map((c) => ({ kind: 'customer', id: c.id }))],
    },
  };
  for (const section of document.querySelectorAll('.people-columns section')) {
    const role = section.dataset.role;
    const { have, pool } = roles[role];
    const key = (p) => `${p.kind}:${p.id}`;
    section.querySelector('ul').replaceChildren(
      ...have.map((p) =>
        el('li', {}, nameOf(p), p.kind === 'customer' ? ' (customer) ' : ' ',
          el('button', { type: 'button', 'aria-label': `Remove ${nameOf(p)}`, onclick: () => changePerson(item.id, role, p, false) }, '×')),
      ),
    );
    const select = section.querySelector('select');
    select.replaceChildren(
      el('option', { value: '' }, 'Add…'),
      ...pool.filter((p) => !have.some((h) => key(h) === key(p))).map((p) => el('option', { value: key(p) }, nameOf(p))),
    );
    select.onchange = () => {
      const [kind, pid] = select.value.split(':');
      if (kind) changePerson(item.id, role, { kind, id: Number(pid) }, true);
    };
  }
  const conversations = await api('GET', `/items/${id}/conversations`);
  $('item-conversations').replaceChildren(
    ...conversations.map((c) =>
      el('li', { class: `conversation ${c.visibility}` },
        el('span', { class: `tag ${c.visibility}` }, c.visibility === 'internal' ? 'Internal' : 'Customers'), ' ',
        el('a', { href: `/c/${c.id}` }, c.subject), ' ',
        el('time', {}, `${c.message_count} messages · ${when(c.last_activity_at)}`)),
    ),
  );
  if (!conversations.length) $('item-conversations').append(el('li', { class: 'hint' }, 'No conversation yet.'));
  // R3: a new conversation starts with the company's default visibility for items.
  const visibility = state.company.item_default_visibility;
  for (const radio of document.querySelectorAll('input[name="visibility"]')) radio.checked = radio.value === visibility;
  $('new-conversation').onsubmit = async (event) => {
    event.preventDefault();
    try {
      const chosen = document.querySelector('input[name="visibility"]:checked').value;
      const c = await api('POST', '/conversations', { subject: $('conversation-subject').value.trim(), item_id: item.id, visibility: chosen });
      location.assign(`/c/${c.id}`);
    } catch (e) {
      showError(e);
    }
  };
  $('item-fields').onsubmit = async (event) => {
    event.preventDefault();
    try {
      await api('PATCH', `/items/${item.id}`, { title: $('item-title').value.trim(), status: $('item-status').value });
      await showItem(item.id);
    } catch (e) {
      showError(e);
    }
  };
}

async function changePerson(itemId, role, party, on) {
  try {
    if (on) await api('POST', `/items/${itemId}/people`, { role, party });
    else await api('DELETE', `/items/${itemId}/people/${role}/${party.kind}/${party.id}`);
    await showItem(itemId);
  } catch (e) {
    showError(e);
  }
}

async function boot() {
  const me = await api('GET', '/me');
  if (me.kind !== 'user') return location.assign('/portal');
  $('me').textContent = me.user.name;
  [state.users, state.customers, state.company] = await Promise.all([api('GET', '/users'), api('GET', '/customers?limit=200').then((page) => page.customers), api('GET', '/company')]);
  await loadProjects();
  $('new-project').addEventListener('submit', async (event) => {
    event.preventDefault();
    const project = await api('POST', '/projects', { name: $('project-name').value.trim() });
    $('project-name').value = '';
    await showProject(project.id);
  });
  $('new-item').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!state.project) return;
    const item = await api('POST', '/items', { project_id: state.project, kind: $('new-kind').value, title: $('new-title').value.trim() });
    $('new-title').value = '';
    location.assign(`/items/${item.id}`);
  });
  const match = location.pathname.match(/^\/items\/(\d+)$/);
  if (match) await showItem(Number(match[1]));
  else if (state.projects.length) await showProject(state.projects[0].id);
}

boot().catch((e) => {
  if (e.status === 401) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  else document.body.prepend(el('p', { role: 'alert', class: 'fatal' }, e.message));
});
