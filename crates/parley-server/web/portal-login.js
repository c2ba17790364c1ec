// Redeems an emailed login link when the customer clicks: a link opened by a mail scanner alone
// does not use it up.
import { api } from './api.js';

const query = new URLSearchParams(location.search);
const token = query.get('token') || '';
// A link asked for from a conversation's page leads back to it (digits only: no other address).
const conversation = /^\d+$/.test(query.get('conversation') || '') ? query.get('conversation') : null;
document.getElementById('redeem').addEventListener('click', async () => {
  try {
    await api('POST', '/auth/customer-link/redeem', { token });
    location.assign(conversation ? `/portal/c/${conversation}` : '/portal');
  } catch (e) {
    const error = document.getElementById('redeem-error');
    error.textContent = 'This link is no longer valid: ask for a new one.';
    error.hidden = false;
  }
});
