// The messaging center of Settings (admins), as tabs: automated messages (R29), automated emails
// (R30), system emails (R31), the incoming and outgoing email logs (R32) with relay tokens, and
// webhooks (webhooks.js). One template editor serves the new-message, system and automated
// emails; it shows in the tab it was opened from.
import { api, el, when } from './api.js';
import { onSubmit, sayBeside } from './forms.js';
import { bootWebhooks, loadWebhooks } from './webhooks.js';

const $ = (id) => document.getElementById(id);

const NEW_MESSAGE = {
  template: 'new_message',
  title: 'New message email',
  hint: 'Sent for messages a recipient has not seen within the email delay. It can be edited, not turned off.',
  sample: 'To Ada, about "Printer on fire" (Ticket #12), one message from Bob with a file. Not saved yet.',
};

/**
 * Loads a template into the editor — the new-message email's, a system email's or an automated
 * one's — and shows the editor in the panel it was asked from.
 */
async function editTemplate(which, panel = 'panel-automations') {
  const template = await api('GET', `/templates/${which.template}`);
  const home = panel === 'panel-automations' ? $('template-home') : $(panel);
  home.append($('template-editor'));
  $('template-editor').hidden = false;
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
      }, 'panel-system-emails');
      $('template-form').subject.focus();
    });
    return el('tr', { 'data-kind': e.kind }, el('td', {}, e.title), el('td', {}, toggle, why), el('td', {}, edit));
  }), el('tr', {}, el('td', {}, 'New message (unseen messages)'), el('td', {}, el('span', { class: 'hint' }, 'always')),
    el('td', {}, el('button', { type: 'button', class: 'link', 'data-edit-template': 'new_message', onclick: () => editTemplate(NEW_MESSAGE, 'panel-system-emails') }, 'Edit template'))));
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

const RECIPIENTS = ['requesters', 'followers', 'assignees'];

function specOf(a) {
  return {
    name: a.name, trigger: a.trigger, project_id: a.project_id, item_kind: a.item_kind, minutes: a.minutes,
    action: a.action, visibility: a.visibility, body: a.body, template: a.template || null, recipients: a.recipients || [],
    address: a.address || null, webhook_id: a.webhook_id || null,
  };
}

/** Shows the fields of the chosen action only. */
function showAction() {
  const form = $('automation-form');
  const action = form.elements.action.value;
  for (const set of form.querySelectorAll('fieldset[data-action]')) set.hidden = set.dataset.action !== action;
}

function editAutomation(a) {
  const f = $('automation-form').elements;
  f.automation_id.value = a ? a.id : '';
  f.name.value = a ? a.name : '';
  f.trigger.value = a ? a.trigger : 'item_created';
  f.project_id.value = a && a.project_id ? String(a.project_id) : '';
  f.item_kind.value = a && a.item_kind ? a.item_kind : '';
  f.minutes.value = a && a.minutes ? a.minutes : 60;
  f.action.value = a ? a.action : 'post_message';
  f.visibility.value = a ? a.visibility : 'public';
  f.body.value = a ? a.body : '';
  f.template.value = a && a.template ? a.template : '';
  for (const r of RECIPIENTS) f[`to_${r}`].checked = !!a && (a.recipients || []).includes(r);
  f.address.value = a && a.address ? a.address : '';
  f.webhook_id.value = a && a.webhook_id ? String(a.webhook_id) : '';
  showAction();
  $('automation-form-title').textContent = a ? `Edit "${a.name}"` : 'New automation';
  $('automation-save').textContent = a ? 'Save' : 'Add';
  $('automation-cancel').hidden = !a;
  $('automation-status').textContent = '';
  if (a) f.name.focus();
}

async function removeAutomation(a) {
  try {
    await api('DELETE', `/automations/${a.id}`);
    $('automation-status').textContent = `Deleted "${a.name}".`;
    await Promise.all([loadAutomations(), loadAutomatedEmails()]);
  } catch (e) {
    $('automation-status').textContent = e.message;
  }
}

async function saveAutomation(event) {
  event.preventDefault();
  const f = $('automation-form').elements;
  const action = f.action.value;
  const body = {
    name: f.name.value,
    trigger: f.trigger.value,
    project_id: f.project_id.value ? Number(f.project_id.value) : null,
    item_kind: f.item_kind.value || null,
    minutes: f.trigger.value === 'no_user_reply' ? Number(f.minutes.value) : null,
    action,
  };
  if (action === 'post_message') Object.assign(body, { visibility: f.visibility.value, body: f.body.value });
  if (action === 'send_email') {
    Object.assign(body, {
      template: f.template.value || null,
      recipients: RECIPIENTS.filter((r) => f[`to_${r}`].checked),
      address: f.address.value.trim() || null,
    });
  }
  if (action === 'call_webhook') body.webhook_id = f.webhook_id.value ? Number(f.webhook_id.value) : null;
  try {
    if (f.automation_id.value) {
      const current = (await api('GET', '/automations')).find((a) => String(a.id) === f.automation_id.value);
      await api('PUT', `/automations/${f.automation_id.value}`, { ...body, enabled: current ? current.enabled : true });
    } else {
      await api('POST', '/automations', body);
    }
    editAutomation(null);
    $('automation-status').textContent = `Saved "${body.name}".`;
    await Promise.all([loadAutomations(), loadAutomatedEmails()]);
  } catch (e) {
    $('automation-status').textContent = e.message;
  }
}

async function loadOutgoing() {
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

// R30: the automated emails' templates, each with the automations that send it.
async function loadAutomatedEmails() {
  const templates = (await api('GET', '/templates')).filter((t) => t.kind === 'automated');
  $('automated-emails').replaceChildren(...templates.map((t) => {
    const users = t.used_by.map((a) => a.name).join(', ');
    const edit = el('button', { type: 'button', class: 'link', 'data-edit-template': t.name }, 'Edit');
    edit.addEventListener('click', () => editAutomated(t.name));
    const remove = el('button', { type: 'button', class: 'link', 'data-delete-template': t.name, disabled: !t.deletable,
      title: t.deletable ? '' : 'Automations send it: change or delete them first' }, 'Delete');
    remove.addEventListener('click', async () => {
      try {
        await api('DELETE', `/templates/${t.name}`);
        $('automated-emails-status').textContent = `Deleted "${t.name}".`;
        $('template-editor').hidden = $('template-form').dataset.template === t.name || $('template-editor').hidden;
        await loadAutomatedEmails();
      } catch (e) {
        $('automated-emails-status').textContent = e.message;
      }
    });
    return el('tr', { 'data-template': t.name }, el('td', {}, t.name), el('td', {}, el('code', {}, t.subject)),
      el('td', {}, users || el('span', { class: 'hint' }, 'no automation')), el('td', {}, edit, ' ', remove));
  }));
  const select = $('automation-form').elements.template;
  const chosen = select.value;
  select.replaceChildren(el('option', { value: '' }, templates.length ? 'choose a template' : 'add one under Automated emails'),
    ...templates.map((t) => el('option', { value: t.name }, t.name)));
  select.value = chosen;
}

function editAutomated(name) {
  return editTemplate({
    template: name,
    title: `Automated email "${name}"`,
    hint: 'Its values: recipient.name, company.name, automation.name, event, item.name, item.title, item.status, conversation.subject, project.name, link.',
    sample: 'To Ada at Acme, about Ticket #12 "Printer on fire", just closed. Not saved yet.',
  }, 'panel-automated-emails');
}

/** The webhooks an automation may call, in its form. */
export async function loadWebhookChoices() {
  const webhooks = await api('GET', '/webhooks');
  const select = $('automation-form').elements.webhook_id;
  const chosen = select.value;
  select.replaceChildren(el('option', { value: '' }, webhooks.length ? 'choose a webhook' : 'add one under Webhooks'),
    ...webhooks.map((w) => el('option', { value: String(w.id) }, w.name)));
  select.value = chosen;
}

/** Tabs, as the WAI-ARIA pattern has them: click or arrow keys choose; one tab stop. */
function setUpTabs() {
  const tabs = [...document.querySelectorAll('#messaging-tabs [role="tab"]')];
  const choose = (tab, focus) => {
    for (const t of tabs) {
      const chosen = t === tab;
      t.setAttribute('aria-selected', String(chosen));
      t.tabIndex = chosen ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !chosen;
    }
    if (focus) tab.focus();
  };
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener('click', () => choose(tab, false));
    tab.addEventListener('keydown', (event) => {
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      choose(tabs[(next + tabs.length) % tabs.length], true);
    });
  }
}

export async function bootMessagingCenter() {
  setUpTabs();
  onSubmit($('template-form'), async (values) => {
    await api('PUT', `/templates/${$('template-form').dataset.template}`, values);
    await loadAutomatedEmails();
  });
  $('template-preview-open').addEventListener('click', previewTemplate);
  $('automation-form').addEventListener('submit', saveAutomation);
  $('automation-form').elements.action.addEventListener('change', showAction);
  $('automation-cancel').addEventListener('click', () => editAutomation(null));
  onSubmit($('relay-token-form'), async (values) => {
    const made = await api('POST', '/inbound-tokens', values);
    $('relay-token-form').reset();
    $('relay-token-value').textContent = made.token;
    $('relay-token-new').hidden = false;
    await loadRelayTokens();
  });
  onSubmit($('new-template-form'), async (values) => {
    await api('POST', '/templates', { name: values.name, subject: values.subject });
    $('new-template-form').reset();
    await loadAutomatedEmails();
    await editAutomated(values.name);
    $('template-form').body_text.focus();
  });
  bootWebhooks(loadWebhookChoices);
  const projects = await api('GET', '/projects');
  $('automation-form').elements.project_id.replaceChildren(el('option', { value: '' }, 'any project'),
    ...projects.map((p) => el('option', { value: String(p.id) }, p.name)));
  await Promise.all([loadAutomatedEmails(), loadWebhookChoices()]);
  await loadAutomations();
  await editTemplate(NEW_MESSAGE);
  await Promise.all([loadSystemEmails(), loadOutgoing(), loadIncoming(), loadRelayTokens(), loadWebhooks()]);
}
