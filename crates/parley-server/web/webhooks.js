// The Webhooks tab of the messaging center (§10): endpoints with the events they want, whether
// they may hear of internal things, their switch, their signing secret (shown once), and the log
// of what was sent to each, with every try.
import { api, el, when } from './api.js';
import { sayBeside } from './forms.js';

const $ = (id) => document.getElementById(id);
const EVENTS = ['message_created', 'conversation_state_changed', 'item_created', 'item_updated', 'delivery_failed'];
/** Called when the list changed: the automation form offers the webhooks there are. */
let changed = async () => {};

function specOf(w) {
  return { name: w.name, url: w.url, events: w.events, internal: w.internal };
}

function showSecret(made) {
  $('webhook-secret-name').textContent = made.name;
  $('webhook-secret-value').textContent = made.secret;
  $('webhook-secret-value').className = 'secret';
  $('webhook-secret').hidden = false;
}

export async function loadWebhooks() {
  const webhooks = await api('GET', '/webhooks');
  $('webhooks').replaceChildren(...webhooks.map((w) => {
    const toggle = el('input', { type: 'checkbox', checked: w.enabled, 'aria-label': `"${w.name}" is on`, 'data-webhook-on': w.id });
    toggle.addEventListener('change', async () => {
      try {
        await api('PUT', `/webhooks/${w.id}`, { ...specOf(w), enabled: toggle.checked });
        w.enabled = toggle.checked;
        sayBeside(toggle, toggle.checked ? 'On.' : 'Off: it hears nothing new; what was queued waits.');
      } catch (e) {
        toggle.checked = !toggle.checked;
        sayBeside(toggle, e.message, true);
      }
    });
    const events = w.events.map((e) => e.replaceAll('_', ' ')).join(', ') + (w.internal ? ' (internal too)' : '');
    const users = w.used_by.length ? el('span', { class: 'hint' }, ` · called by ${w.used_by.map((a) => a.name).join(', ')}`) : null;
    const action = (label, run) => el('button', { type: 'button', class: 'link', onclick: run }, label);
    return el('tr', { 'data-webhook': w.id }, el('td', {}, w.name, users), el('td', {}, el('code', {}, w.url)), el('td', {}, events),
      el('td', {}, toggle), el('td', {}, action('Deliveries', () => loadLog(w)), ' ', action('Edit', () => editWebhook(w)), ' ',
        action('New secret', () => renewSecret(w)), ' ', action('Delete', () => removeWebhook(w))));
  }));
}

async function loadLog(w) {
  const log = await api('GET', `/webhooks/${w.id}/deliveries?limit=50`);
  $('webhook-log-title').textContent = `Deliveries to "${w.name}"`;
  $('webhook-log').replaceChildren(...log.map((d) => {
    const last = d.attempts[d.attempts.length - 1];
    const answer = last ? (last.status ? `${last.status}` : last.error || '') : 'not tried yet';
    const resend = el('button', { type: 'button', class: 'link', 'data-resend': d.id }, 'Send again');
    resend.addEventListener('click', async () => {
      try {
        await api('POST', `/webhooks/${w.id}/deliveries/${d.id}/resend`);
        sayBeside(resend, 'Queued.');
      } catch (e) {
        sayBeside(resend, e.message, true);
      }
    });
    const state = d.state === 'pending' && d.tries > 0 ? `retrying ${when(d.next_attempt_at)}` : d.state;
    return el('tr', { class: `status-${d.state}`, 'data-delivery': d.id }, el('td', {}, when(d.created_at)),
      el('td', {}, d.event.replaceAll('_', ' ')), el('td', {}, state), el('td', {}, String(d.tries)),
      el('td', {}, answer, last && last.error && last.status ? ` · ${last.error}` : ''), el('td', {}, resend));
  }));
  if (!log.length) $('webhook-log').replaceChildren(el('tr', {}, el('td', { colspan: 6 }, 'Nothing sent yet.')));
  $('webhook-log-box').hidden = false;
}

function editWebhook(w) {
  const f = $('webhook-form').elements;
  f.webhook_id.value = w ? w.id : '';
  f.name.value = w ? w.name : '';
  f.url.value = w ? w.url : '';
  for (const e of EVENTS) f[`event_${e}`].checked = w ? w.events.includes(e) : e === 'message_created';
  f.internal.checked = !!w && w.internal;
  $('webhook-form-title').textContent = w ? `Edit "${w.name}"` : 'New webhook';
  $('webhook-save').textContent = w ? 'Save' : 'Add';
  $('webhook-cancel').hidden = !w;
  $('webhook-status').textContent = '';
  if (w) f.name.focus();
}

async function saveWebhook(event) {
  event.preventDefault();
  const f = $('webhook-form').elements;
  const body = { name: f.name.value, url: f.url.value, events: EVENTS.filter((e) => f[`event_${e}`].checked), internal: f.internal.checked };
  try {
    if (f.webhook_id.value) {
      const current = (await api('GET', '/webhooks')).find((w) => String(w.id) === f.webhook_id.value);
      await api('PUT', `/webhooks/${f.webhook_id.value}`, { ...body, enabled: current ? current.enabled : true });
    } else {
      showSecret(await api('POST', '/webhooks', body));
    }
    editWebhook(null);
    $('webhook-status').textContent = `Saved "${body.name}".`;
    await Promise.all([loadWebhooks(), changed()]);
  } catch (e) {
    $('webhook-status').textContent = e.message;
  }
}

async function renewSecret(w) {
  try {
    showSecret(await api('POST', `/webhooks/${w.id}/secret`));
    $('webhook-status').textContent = `"${w.name}" has a new secret; the old one signs nothing more.`;
  } catch (e) {
    $('webhook-status').textContent = e.message;
  }
}

async function removeWebhook(w) {
  try {
    await api('DELETE', `/webhooks/${w.id}`);
    $('webhook-status').textContent = `Deleted "${w.name}".`;
    $('webhook-log-box').hidden = true;
    await Promise.all([loadWebhooks(), changed()]);
  } catch (e) {
    $('webhook-status').textContent = e.message;
  }
}

/** Wires the tab's form; `onChange` runs when webhooks were added or removed. */
export function bootWebhooks(onChange) {
  changed = onChange;
  $('webhook-form').addEventListener('submit', saveWebhook);
  $('webhook-cancel').addEventListener('click', () => editWebhook(null));
}
