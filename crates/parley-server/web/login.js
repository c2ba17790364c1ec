import { api } from './api.js';

const form = document.getElementById('login-form');

/**
 * Where to go after logging in: `next` only if it is a path on this origin, decided by parsing
 * it as the browser will (`/\evil.example` and `//evil.example` are other sites); else `/`.
 */
function sameOriginPath(next) {
  if (!next) return '/';
  try {
    const url = new URL(next, location.origin);
    return url.origin === location.origin ? `${url.pathname}${url.search}${url.hash}` : '/';
  } catch (_) {
    return '/';
  }
}
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
