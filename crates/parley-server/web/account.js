// The pages emailed links lead to, and the form to ask for one: asking for a password reset,
// choosing a password with a link (users and portal customers), accepting a project invitation.
import { api, el } from './api.js';

const path = location.pathname;
const token = new URLSearchParams(location.search).get('token') || '';
const error = document.getElementById('account-error');
const done = document.getElementById('account-done');
const forCustomer = path.startsWith('/portal/');
const loginPage = forCustomer ? '/portal' : '/login';

function show(form, submit) {
  form.hidden = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const message = await submit();
      form.hidden = true;
      done.replaceChildren(...message);
      done.hidden = false;
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      button.disabled = false;
    }
  });
}

if (path.endsWith('/forgot-password')) {
  const form = document.getElementById('reset-form');
  show(form, async () => {
    await api('POST', '/auth/password-reset', { email: form.email.value.trim() });
    return ['If the address has an account, an email with a link is on its way. The link works for an hour.'];
  });
} else if (path.endsWith('/set-password')) {
  const form = document.getElementById('password-form');
  show(form, async () => {
    await api('POST', '/auth/set-password', { token, password: form.password.value });
    return ['Your password is set. ', el('a', { href: loginPage }, 'Log in')];
  });
} else if (path.startsWith('/invitations/accept')) {
  const form = document.getElementById('invitation-form');
  show(form, async () => {
    const invitation = await api('POST', '/invitations/accept-link', { token });
    return [`You are a member of ${invitation.project_name}. `, el('a', { href: '/' }, 'Open Parley')];
  });
}
