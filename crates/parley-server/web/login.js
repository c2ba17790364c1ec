import { api, sameOriginPath } from './api.js';

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
    location.assign(sameOriginPath(new URLSearchParams(location.search).get('next')));
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
});
