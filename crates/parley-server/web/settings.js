// Settings: one's own notification preferences (R20–R25; the scope only by admins), project
// invitations and saved replies, and for admins the company defaults (R3), people, customers and
// the messaging center (messaging-center.js).
import { api, el } from './api.js';
import { onSubmit, sayBeside } from './forms.js';
import { bootMessagingCenter } from './messaging-center.js';

const $ = (id) => document.getElementById(id);
const state = { me: null, admin: false };
const SCOPES = { all_projects: 'all projects', followed_projects: 'projects I follow' };

async function loadPreferences() {
  const prefs = await api('GET', `/users/${state.me.id}/preferences`);
  const form = $('preferences-form');
  for (const field of form.elements) {
    if (!field.name || !(field.name in prefs)) continue;
    if (field.type === 'checkbox') field.checked = prefs[field.name];
    else field.value = prefs[field.name];
  }
  $('scope').textContent = SCOPES[prefs.scope] || prefs.scope;
}

// R25: invitations into projects wait here until answered (unless the user accepts all).
async function loadInvitations() {
  const invitations = await api('GET', '/me/invitations');
  $('invitations-box').hidden = invitations.length === 0;
  $('invitations').replaceChildren(...invitations.map((i) => {
    const answer = (verb) => async () => {
      try {
        await api('POST', `/invitations/${i.id}/${verb}`);
        await loadInvitations();
        $('invitations-status').textContent = verb === 'accept' ? `You are a member of ${i.project_name}.` : 'Declined.';
      } catch (e) {
        $('invitations-status').textContent = e.message;
      }
    };
    return el('li', { 'data-invitation': i.id }, 'Become a member of ', el('strong', {}, i.project_name), ' ',
      el('button', { type: 'button', onclick: answer('accept') }, 'Accept'), ' ',
      el('button', { type: 'button', class: 'link', onclick: answer('decline') }, 'Decline'));
  }));
}

async function loadCompany() {
  const company = await api('GET', '/company');
  const form = $('company-form');
  form.name.value = company.name;
  form.item_default_visibility.value = company.item_default_visibility;
  form.project_default_visibility.value = company.project_default_visibility;
  const projects = await api('GET', '/projects');
  form.email_ticket_project_id.replaceChildren(
    el('option', { value: '' }, 'a conversation only'),
    ...projects.map((p) => el('option', { value: String(p.id) }, `a ticket in ${p.name}`)),
  );
  form.email_ticket_project_id.value = company.email_ticket_project_id ? String(company.email_ticket_project_id) : '';
  form.portal_request_project_id.replaceChildren(
    el('option', { value: '' }, '— no new requests in the portal'),
    ...projects.map((p) => el('option', { value: String(p.id) }, `a ticket in ${p.name}`)),
  );
  form.portal_request_project_id.value = company.portal_request_project_id ? String(company.portal_request_project_id) : '';
  form.staff_display_name.value = company.staff_display_name || '';
  form.widget_greeting.value = company.widget_greeting;
  form.widget_reply_time.value = company.widget_reply_time;
  form.routing.value = company.routing;
  form.routing_cap.value = String(company.routing_cap);
  // Empty where the company set nothing, the default in effect shown instead.
  const seconds = (ms) => (ms == null ? '' : String(ms / 1000));
  const inEffect = company.send_guards_in_effect || {};
  form.chat_send_guard_s.value = seconds(company.chat_send_guard_ms);
  form.chat_send_guard_s.placeholder = `${seconds(inEffect.chat_ms)} (default)`;
  form.send_guard_s.value = seconds(company.send_guard_ms);
  form.send_guard_s.placeholder = `${seconds(inEffect.other_ms)} (default)`;
}

async function loadPeople() {
  const [users, teams] = await Promise.all([api('GET', '/users'), api('GET', '/teams')]);
  // R42: whether new conversations may be routed to each: connected and not away.
  const presence = (u) => {
    const [label, hint] = u.away
      ? ['away', 'Set away: new conversations pass them by']
      : u.available ? ['available', 'Connected: new conversations may be routed to them'] : ['offline', 'Not connected'];
    return el('span', { class: `tag presence ${label}`, 'data-presence': u.id, title: hint }, label);
  };
  const scopes = await Promise.all(users.map((u) => api('GET', `/users/${u.id}/preferences`).then((p) => p.scope)));
  $('users').replaceChildren(
    ...users.map((u, i) => {
      const scope = el('select', { 'aria-label': `What ${u.name} may see`, 'data-user': u.id },
        ...Object.entries(SCOPES).map(([value, label]) => el('option', { value, selected: scopes[i] === value }, label)));
      scope.addEventListener('change', async () => {
        try {
          await api('PATCH', `/users/${u.id}/preferences`, { scope: scope.value });
          sayBeside(scope, 'Saved.');
        } catch (e) {
          sayBeside(scope, e.message, true);
        }
      });
      // Name and role are edited in the row, saved with its button; the answer is said beside it.
      const name = el('input', { value: u.name, required: true, maxlength: 200, 'aria-label': `Name of ${u.email}`, 'data-user-name': u.id });
      const role = el('select', { 'aria-label': `Role of ${u.email}`, 'data-user-role': u.id },
        el('option', { value: 'member', selected: u.role === 'member' }, 'Member'),
        el('option', { value: 'admin', selected: u.role === 'admin' }, 'Admin'));
      const save = el('button', { type: 'button', 'data-user-save': u.id }, 'Save');
      save.addEventListener('click', async () => {
        try {
          await api('PATCH', `/users/${u.id}`, { name: name.value, role: role.value });
          sayBeside(save, 'Saved.');
        } catch (e) {
          sayBeside(save, e.message, true);
        }
      });
      // Deactivating ends every session and token of theirs at once; reactivating lets them back.
      const toggle = el('button', { type: 'button', 'data-user-active': u.id }, u.active ? 'Deactivate' : 'Reactivate');
      toggle.addEventListener('click', async () => {
        try {
          await api('PATCH', `/users/${u.id}`, { active: !u.active });
          await loadPeople();
          sayBeside(document.querySelector(`button[data-user-active='${u.id}']`), u.active ? 'Deactivated: signed out everywhere.' : 'Reactivated.');
        } catch (e) {
          sayBeside(toggle, e.message, true);
        }
      });
      return el('tr', { id: `user-${u.id}`, class: u.active ? '' : 'inactive' },
        el('td', {}, name, u.active ? presence(u) : el('span', { class: 'tag state' }, 'deactivated')),
        el('td', {}, u.email), el('td', {}, role), el('td', {}, scope), el('td', {}, save, ' ', toggle));
    }),
  );
  $('teams').replaceChildren(
    ...teams.map((t) => {
      const add = el('select', { 'aria-label': `Add a member to ${t.name}` }, el('option', { value: '' }, 'Add member…'),
        ...users.filter((u) => !t.members.includes(u.id)).map((u) => el('option', { value: u.id }, u.name)));
      add.addEventListener('change', async () => {
        await api('POST', `/teams/${t.id}/members`, { user_id: Number(add.value) });
        await loadPeople();
      });
      const names = t.members.map((id) => (users.find((u) => u.id === id) || {}).name).join(', ');
      return el('li', {}, el('strong', {}, t.name), ` ${names || 'no members'} `, add);
    }),
  );
}

// Customers come a page at a time, by name; "More" asks for the next page.
async function loadCustomers(cursor) {
  const query = `/customers?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  const [page, organizations] = await Promise.all([api('GET', query), api('GET', '/organizations')]);
  const orgName = (id) => (organizations.find((o) => o.id === id) || {}).name || '';
  const address = (c) => c.email || (c.unverified_email ? `${c.unverified_email} (unverified)` : '(visitor, no address)');
  const invite = (c) => {
    if (!c.email) return null;
    const button = el('button', { type: 'button', class: 'link', 'data-invite': c.id }, 'Invite to the portal');
    button.addEventListener('click', async () => {
      try {
        await api('POST', `/customers/${c.id}/invite`);
        sayBeside(button, 'Invitation sent.');
      } catch (e) {
        sayBeside(button, e.message, true);
      }
    });
    return button;
  };
  const rows = page.customers.map((c) => el('tr', { id: `customer-${c.id}` }, el('td', {}, c.name), el('td', {}, address(c)),
    el('td', {}, orgName(c.organization_id)), el('td', {}, invite(c))));
  if (cursor) $('customer-list').append(...rows);
  else $('customer-list').replaceChildren(...rows);
  const more = $('customer-more');
  if (more) {
    more.hidden = !page.next_cursor;
    more.onclick = () => loadCustomers(page.next_cursor);
  }
  $('organizations').replaceChildren(...organizations.map((o) => el('li', {}, el('strong', {}, o.name), ` @${o.domain}`)));
}

// Saved replies: every user adds them; their author or an admin edits and removes them. Errors
// are said next to the form.
async function loadSavedReplies() {
  const replies = await api('GET', '/saved-replies');
  const mayChange = (r) => state.admin || r.created_by === state.me.id;
  $('saved-list').replaceChildren(...replies.map((r) => el('li', { class: 'saved-reply', 'data-id': r.id },
    el('strong', {}, r.title), ' ', el('span', { class: 'hint' }, r.body.length > 80 ? `${r.body.slice(0, 80)}…` : r.body), ' ',
    mayChange(r) ? el('button', { type: 'button', class: 'link', onclick: () => editSavedReply(r) }, 'Edit') : null, ' ',
    mayChange(r) ? el('button', { type: 'button', class: 'link', onclick: () => removeSavedReply(r) }, 'Remove') : null)));
}

function editSavedReply(r) {
  // Named fields: `form.title` and `form.id` would be the form's own attributes.
  const f = $('saved-form').elements;
  f.reply_id.value = r ? r.id : '';
  f.title.value = r ? r.title : '';
  f.body.value = r ? r.body : '';
  $('saved-form-title').textContent = r ? `Edit "${r.title}"` : 'New saved reply';
  $('saved-save').textContent = r ? 'Save' : 'Add';
  $('saved-cancel').hidden = !r;
  $('saved-status').textContent = '';
  if (r) f.title.focus();
}

async function removeSavedReply(r) {
  try {
    await api('DELETE', `/saved-replies/${r.id}`);
    $('saved-status').textContent = `Removed "${r.title}".`;
    await loadSavedReplies();
  } catch (e) {
    $('saved-status').textContent = e.message;
  }
}

async function saveSavedReply(event) {
  event.preventDefault();
  const f = $('saved-form').elements;
  const body = { title: f.title.value, body: f.body.value };
  try {
    if (f.reply_id.value) await api('PUT', `/saved-replies/${f.reply_id.value}`, body);
    else await api('POST', '/saved-replies', body);
    editSavedReply(null);
    $('saved-status').textContent = `Saved "${body.title}".`;
    await loadSavedReplies();
  } catch (e) {
    $('saved-status').textContent = e.message;
  }
}

async function boot() {
  const me = await api('GET', '/me');
  if (me.kind !== 'user') return location.assign('/portal');
  state.me = me.user;
  state.admin = me.user.role === 'admin';
  $('me').textContent = me.user.name;
  for (const node of document.querySelectorAll('.admin-only')) node.hidden = !state.admin;
  onSubmit($('preferences-form'), (values) => api('PATCH', `/users/${state.me.id}/preferences`, values));
  await loadPreferences();
  await loadInvitations();
  $('saved-form').addEventListener('submit', saveSavedReply);
  $('saved-cancel').addEventListener('click', () => editSavedReply(null));
  await loadSavedReplies();
  if (!state.admin) return;
  onSubmit($('company-form'), async ({ chat_send_guard_s: chatGuard, send_guard_s: guard, ...values }) => {
    const form = $('company-form');
    const project = (select) => (select.value ? Number(select.value) : null);
    const ms = (text) => (String(text ?? '').trim() === '' ? null : Math.round(Number(text) * 1000));
    const company = await api('PATCH', '/company', {
      ...values,
      routing_cap: Number(values.routing_cap),
      chat_send_guard_ms: ms(chatGuard),
      send_guard_ms: ms(guard),
      email_ticket_project_id: project(form.email_ticket_project_id),
      portal_request_project_id: project(form.portal_request_project_id),
      // Emptied on purpose: back to each person's name, or no promise.
      staff_display_name: form.staff_display_name.value.trim() || null,
      widget_reply_time: form.widget_reply_time.value.trim(),
    });
    await loadCompany();
    return company;
  });
  onSubmit($('user-form'), async (values) => {
    await api('POST', '/users', values);
    $('user-form').reset();
    await loadPeople();
  });
  onSubmit($('team-form'), async (values) => {
    await api('POST', '/teams', values);
    $('team-form').reset();
    await loadPeople();
  });
  onSubmit($('customer-form'), async (values) => {
    await api('POST', '/customers', values);
    $('customer-form').reset();
    await loadCustomers();
  });
  onSubmit($('organization-form'), async (values) => {
    await api('POST', '/organizations', values);
    $('organization-form').reset();
    await loadCustomers();
  });
  await Promise.all([loadCompany(), loadPeople(), loadCustomers(), bootMessagingCenter()]);
}

boot().catch((e) => {
  if (e.status === 401) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  else document.body.prepend(el('p', { role: 'alert', class: 'fatal' }, e.message));
});
