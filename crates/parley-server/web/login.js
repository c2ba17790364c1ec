import { api } from './api.js';

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  try {
    await api('POST', '/auth/login', {
      email: form.email.value.trim(),
      password: form.password.value,
    });
    const next = new URLSearchParams(location.search).get('next');
    location.assign(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
});
