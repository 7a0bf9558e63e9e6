/** The registration page: registers through the API, then signs in unless approval is pending. */
import { api, errorMessage } from './api.ts';
import { element, make, showError } from './dom.ts';
import type { Registered } from './types.ts';

const form = element<HTMLFormElement>('#signup');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  showError('');
  const field = (name: string) => element<HTMLInputElement>(`[name="${name}"]`, form).value;
  const account = {
    username: field('username'),
    email: field('email'),
    password: field('password'),
  };
  try {
    const registered = await api<Registered>('/register', { method: 'POST', body: account });
    if (registered.pending_approval) {
      form.replaceWith(
        make('p', {
          textContent:
            'Thank you. An administrator will approve your account; then you can sign in.',
        }),
      );
      return;
    }
    await api('/login', {
      method: 'POST',
      body: { username: account.username, password: account.password },
    });
    window.location.href = '/hub/home';
  } catch (err) {
    showError(errorMessage(err));
  }
});
