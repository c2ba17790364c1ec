// Settings: one's own notification preferences (R20–R25; the scope only by admins) and project
// invitations, and for admins the company defaults (R3), people, automated messages (R29), the
// system emails and their templates (R31), the new-message template (R29), the outgoing and incoming email logs (R32) and
// relay tokens.
import { api, el, when } from './api.js';

const $ = (id) => document.getElementById(id);
const state = { me: null, admin: false };
const SCOPES = { all_projects: 'all projects', followed_projects: 'projects I follow' };

/**
 * Says how a change went right where it was made: under a form (after its button), or beside a
 * control; "Saved." or the server's reason, in red and as an alert when it failed.
 */
function sayBeside(node, text, failed) {
  const form = node.tagName === 'FORM';
  let line = form ? node.querySelector(':scope > .form-status') : node.nextElementSibling;
  if (!line || !line.classList.contains('form-status')) {
    line = el(form ? 'p' : 'span', { class: 'form-status' });
    if (form) node.append(line);
    else node.after(line);
  }
  line.setAttribute('role', failed ? 'alert' : 'status');
  line.classList.toggle('error', !!failed);
  line.textContent = text;
}

function formValues(form) {
  const values = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === 'checkbox') values[field.name] = field.checked;
    else if (field.value !== '') values[field.name] = field.value;
  }
  return values;
}

function onSubmit(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    sayBeside(form, '');
    try {
      await action(formValues(form));
      sayBeside(form, 'Saved.');
    } catch (e) {
      sayBeside(form, e.message, true);
    }
  });
}

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
}

async function loadPeople() {
  const [users, teams] = await Promise.all([api('GET', '/users'), api('GET', '/teams')]);
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
        el('td', {}, name, u.active ? null : el('span', { class: 'tag state' }, 'deactivated')),
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

const NEW_MESSAGE = {
  template: 'new_message',
  title: 'New message email',
  hint: 'Sent for messages a recipient has not seen within the email delay. It can be edited, not turned off.',
  sample: 'To Ada, about "Printer on fire" (Ticket #12), one message from Bob with a file. Not saved yet.',
};

/** Loads a template into the form: the new-message email's, or a system email's. */
async function editTemplate(which) {
  const template = await api('GET', `/templates/${which.template}`);
  const form = $('template-form');
  form.dataset.template = which.template;
  form.subject.value = template.subject;
  form.body_text.value = template.body_text;
  form.body_html.value = template.body_html;
  $('template-title').textContent = which.title;
  $('template-hint').textContent = which.hint;
  $('template-preview-hint').textContent = which.sample;
  $('template-preview').hidden = true;
  sayBeside(form, '');
}

// R31: each system email's switch, and its template to edit.
async function loadSystemEmails() {
  const emails = await api('GET', '/system-emails');
  $('system-emails').replaceChildren(...emails.map((e) => {
    const label = `Send the email "${e.title}"`;
    const toggle = el('input', { type: 'checkbox', checked: e.enabled, disabled: !e.may_turn_off, 'aria-label': label, 'data-system-email': e.kind });
    toggle.addEventListener('change', async () => {
      try {
        await api('PATCH', `/system-emails/${e.kind}`, { enabled: toggle.checked });
        sayBeside(toggle, toggle.checked ? 'On.' : 'Off: not sent.');
      } catch (err) {
        toggle.checked = !toggle.checked;
        sayBeside(toggle, err.message, true);
      }
    });
    const why = e.may_turn_off ? null : el('span', { class: 'hint', id: `why-${e.kind}` }, ' Always sent: without it a locked-out person has no way back in.');
    if (why) toggle.setAttribute('aria-describedby', `why-${e.kind}`);
    const edit = el('button', { type: 'button', class: 'link', 'data-edit-template': e.template }, 'Edit template');
    edit.addEventListener('click', async () => {
      await editTemplate({
        template: e.template,
        title: `${e.title} email`,
        hint: 'Its values: recipient.name, company.name, link, expires_in, actor.name, project.name, item.name, item.title, assigned, member.name, member.kind.',
        sample: 'To Ada at Acme, with sample values for every field. Not saved yet.',
      });
      $('template-form').subject.focus();
    });
    return el('tr', { 'data-kind': e.kind }, el('td', {}, e.title), el('td', {}, toggle, why), el('td', {}, edit));
  }), el('tr', {}, el('td', {}, 'New message (unseen messages)'), el('td', {}, el('span', { class: 'hint' }, 'always')),
    el('td', {}, el('button', { type: 'button', class: 'link', 'data-edit-template': 'new_message', onclick: () => editTemplate(NEW_MESSAGE) }, 'Edit template'))));
}

const TRIGGERS = {
  new_message: 'a message is posted',
  item_created: 'an item is created',
  item_closed: 'an item is closed',
  item_status_changed: "an item's status changes",
  item_assigned: 'someone is assigned to an item',
  conversation_closed: 'a conversation is closed',
  conversation_reopened: 'a conversation is reopened',
  new_customer_conversation: 'a customer starts a conversation',
  no_user_reply: "a customer has waited for a user's reply",
};

function triggerInWords(a) {
  if (a.trigger === 'no_user_reply') return `a customer has waited ${a.minutes} min for a user's reply`;
  return TRIGGERS[a.trigger] || a.trigger;
}

// R29: the automations, the core rule first: its switch is disabled with the reason, and its
// text is the new-message template.
async function loadAutomations() {
  const automations = await api('GET', '/automations');
  $('automations').replaceChildren(...automations.map((a) => {
    const label = `"${a.name}" is on`;
    const toggle = el('input', { type: 'checkbox', checked: a.enabled, disabled: a.core, 'aria-label': label, 'data-automation-on': a.id });
    toggle.addEventListener('change', async () => {
      try {
        await api('PUT', `/automations/${a.id}`, { ...specOf(a), enabled: toggle.checked });
        a.enabled = toggle.checked;
        sayBeside(toggle, toggle.checked ? 'On.' : 'Off.');
      } catch (e) {
        toggle.checked = !toggle.checked;
        sayBeside(toggle, e.message, true);
      }
    });
    const why = a.core ? el('span', { class: 'hint', id: `why-automation-${a.id}` }, ' The core rule: always on.') : null;
    if (why) toggle.setAttribute('aria-describedby', `why-automation-${a.id}`);
    const change = a.core
      ? el('button', { type: 'button', class: 'link', 'data-edit-template': 'new_message', onclick: () => editTemplate(NEW_MESSAGE) }, 'Edit text')
      : [el('button', { type: 'button', class: 'link', onclick: () => editAutomation(a) }, 'Edit'), ' ',
        el('button', { type: 'button', class: 'link', onclick: () => removeAutomation(a) }, 'Delete')];
    return el('tr', { 'data-automation': a.id }, el('td', {}, a.name, a.core ? [' ', el('span', { class: 'tag state' }, 'core')] : null),
      el('td', {}, triggerInWords(a)), el('td', {}, a.reaches), el('td', {}, toggle, why), el('td', {}, change));
  }));
}

function specOf(a) {
  return { name: a.name, trigger: a.trigger, project_id: a.project_id, item_kind: a.item_kind, minutes: a.minutes, visibility: a.visibility, body: a.body };
}

function editAutomation(a) {
  const f = $('automation-form').elements;
  f.automation_id.value = a ? a.id : '';
  f.name.value = a ? a.name : '';
  f.trigger.value = a ? a.trigger : 'item_created';
  f.project_id.value = a && a.project_id ? String(a.project_id) : '';
  f.item_kind.value = a && a.item_kind ? a.item_kind : '';
  f.minutes.value = a && a.minutes ? a.minutes : 60;
  f.visibility.value = a ? a.visibility : 'public';
  f.body.value = a ? a.body : '';
  $('automation-form-title').textContent = a ? `Edit "${a.name}"` : 'New automated message';
  $('automation-save').textContent = a ? 'Save' : 'Add';
  $('automation-cancel').hidden = !a;
  $('automation-status').textContent = '';
  if (a) f.name.focus();
}

async function removeAutomation(a) {
  try {
    await api('DELETE', `/automations/${a.id}`);
    $('automation-status').textContent = `Deleted "${a.name}".`;
    await loadAutomations();
  } catch (e) {
    $('automation-status').textContent = e.message;
  }
}

async function saveAutomation(event) {
  event.preventDefault();
  const f = $('automation-form').elements;
  const body = {
    name: f.name.value,
    trigger: f.trigger.value,
    project_id: f.project_id.value ? Number(f.project_id.value) : null,
    item_kind: f.item_kind.value || null,
    minutes: f.trigger.value === 'no_user_reply' ? Number(f.minutes.value) : null,
    visibility: f.visibility.value,
    body: f.body.value,
  };
  try {
    if (f.automation_id.value) {
      const current = (await api('GET', '/automations')).find((a) => String(a.id) === f.automation_id.value);
      await api('PUT', `/automations/${f.automation_id.value}`, { ...body, enabled: current ? current.enabled : true });
    } else {
      await api('POST', '/automations', body);
    }
    editAutomation(null);
    $('automation-status').textContent = `Saved "${body.name}".`;
    await loadAutomations();
  } catch (e) {
    $('automation-status').textContent = e.message;
  }
}

async function loadMessaging() {
  const projects = await api('GET', '/projects');
  $('automation-form').elements.project_id.replaceChildren(el('option', { value: '' }, 'any project'),
    ...projects.map((p) => el('option', { value: String(p.id) }, p.name)));
  await loadAutomations();
  await editTemplate(NEW_MESSAGE);
  await loadSystemEmails();
  const log = await api('GET', '/outgoing-emails?limit=200');
  const people = await personNames(log.map((e) => e.party).filter(Boolean));
  $('outgoing').replaceChildren(
    ...log.map((e) => {
      const person = e.party ? people.get(`${e.party.kind}:${e.party.id}`) : null;
      const to = el('td', {}, person ? el('a', { href: person.href }, person.name) : null, person && e.to_address ? ' · ' : null, e.to_address || '');
      const what = e.subject || (e.message_id ? `message #${e.message_id}` : '');
      const about = e.conversation_id ? el('a', { href: `/c/${e.conversation_id}` }, what || `conversation #${e.conversation_id}`) : what;
      return el('tr', { class: `status-${e.status}` }, el('td', {}, when(e.at)), to, el('td', {}, about), el('td', {}, e.status),
        el('td', {}, (e.reason || '').replaceAll('_', ' ')));
    }),
  );
}

/**
 * The names of the people an email log names, each with where to find them: their row under
 * Users or Customers.
 */
async function personNames(parties) {
  const names = new Map();
  const users = new Map((await api('GET', '/users')).map((u) => [u.id, u]));
  const customers = [...new Set(parties.filter((p) => p.kind === 'customer').map((p) => p.id))];
  const found = await Promise.all(customers.map((id) => api('GET', `/customers/${id}`).catch(() => null)));
  for (const p of parties) {
    if (p.kind === 'user' && users.has(p.id)) names.set(`user:${p.id}`, { name: users.get(p.id).name, href: `#user-${p.id}` });
  }
  for (const c of found.filter(Boolean)) {
    names.set(`customer:${c.id}`, { name: c.name, href: `#customer-${c.id}` });
  }
  return names;
}

/** The template as edited (not saved), rendered with sample data beside the form. */
async function previewTemplate() {
  const form = $('template-form');
  const edit = { subject: form.subject.value, body_text: form.body_text.value, body_html: form.body_html.value };
  try {
    const preview = await api('POST', `/templates/${form.dataset.template}/preview`, edit);
    $('preview-subject').textContent = preview.subject;
    $('preview-text').textContent = preview.body_text;
    // A sandboxed frame: the HTML is shown, nothing in it runs.
    $('preview-html').srcdoc = preview.body_html;
    $('template-preview').hidden = false;
    $('template-preview').scrollIntoView({ block: 'nearest' });
    sayBeside(form, '');
  } catch (e) {
    $('template-preview').hidden = true;
    sayBeside(form, e.message, true);
  }
}

const DID = { posted: 'posted', started: 'started a conversation', refused: 'refused', automatic: 'ignored: automatic', duplicate: 'duplicate', received: 'handling' };

async function loadIncoming() {
  const log = await api('GET', '/incoming-emails?limit=200');
  $('incoming').replaceChildren(
    ...log.map((m) => {
      const did = DID[m.status] || m.status;
      const where = m.conversation_id ? el('a', { href: `/c/${m.conversation_id}` }, `${did} · conversation #${m.conversation_id}`) : did;
      const original = el('a', { href: `/api/v1/incoming-emails/${m.id}/raw`, download: `incoming-${m.id}.eml` }, 'download');
      return el('tr', { class: `status-${m.status}`, 'data-id': m.id }, el('td', {}, when(m.received_at)), el('td', {}, m.from_address),
        el('td', {}, m.subject), el('td', {}, where), el('td', {}, m.reason || ''), el('td', {}, original));
    }),
  );
}

async function loadRelayTokens() {
  const tokens = await api('GET', '/inbound-tokens');
  $('relay-tokens').replaceChildren(
    ...tokens.map((t) =>
      el('li', { 'data-id': t.id }, el('strong', {}, t.name), ` · made ${when(t.created_at)}`, t.last_used_at ? ` · last used ${when(t.last_used_at)}` : ' · never used', ' ',
        el('button', { type: 'button', onclick: () => revokeRelayToken(t) }, 'Revoke')),
    ),
  );
}

async function revokeRelayToken(token) {
  try {
    await api('DELETE', `/inbound-tokens/${token.id}`);
    await loadRelayTokens();
    sayBeside($('relay-tokens'), `Token "${token.name}" revoked.`);
  } catch (e) {
    sayBeside($('relay-tokens'), e.message, true);
  }
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
  onSubmit($('company-form'), (values) => {
    const form = $('company-form');
    const project = (select) => (select.value ? Number(select.value) : null);
    return api('PATCH', '/company', {
      ...values,
      email_ticket_project_id: project(form.email_ticket_project_id),
      portal_request_project_id: project(form.portal_request_project_id),
      // Emptied on purpose: back to each person's name, or no promise.
      staff_display_name: form.staff_display_name.value.trim() || null,
      widget_reply_time: form.widget_reply_time.value.trim(),
    });
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
  onSubmit($('template-form'), (values) => api('PUT', `/templates/${$('template-form').dataset.template}`, values));
  $('template-preview-open').addEventListener('click', previewTemplate);
  $('automation-form').addEventListener('submit', saveAutomation);
  $('automation-cancel').addEventListener('click', () => editAutomation(null));
  onSubmit($('relay-token-form'), async (values) => {
    const made = await api('POST', '/inbound-tokens', values);
    $('relay-token-form').reset();
    $('relay-token-value').textContent = made.token;
    $('relay-token-new').hidden = false;
    await loadRelayTokens();
  });
  await Promise.all([loadCompany(), loadPeople(), loadCustomers(), loadMessaging(), loadIncoming(), loadRelayTokens()]);
}

boot().catch((e) => {
  if (e.status === 401) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  else document.body.prepend(el('p', { role: 'alert', class: 'fatal' }, e.message));
});
