// Redeems an emailed login link when the customer clicks: a link opened by a mail scanner alone
// does not use it up.
import { api } from './api.js';

const token = new URLSearchParams(location.search).get('token') || '';
document.getElementById('redeem').addEventListener('click', async () => {
  try {
    await api('POST', '/auth/customer-link/redeem', { token });
    location.assign('/portal');
  } catch (e) {
    const error = document.getElementById('redeem-error');
    error.textContent = 'This link is no longer valid: ask for a new one.';
    error.hidden = false;
  }
});
