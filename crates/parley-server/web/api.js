// The API client and the realtime connection shared by Parley's pages.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls `/api/v1<path>` with the session cookie (and `headers`, such as the widget's bearer
 * token); answers the JSON body or throws ApiError.
 */
export async function api(method, path, body, headers = {}) {
  const init = { method, credentials: 'same-origin', headers: { ...headers } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch('/api/v1' + path, init);
  } catch (_) {
    // The browser's own words ("Failed to fetch") tell a person nothing.
    throw new ApiError(0, 'unreachable', UNREACHABLE);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    // Not Parley's answer: a proxy in between, say.
    throw new ApiError(res.status, 'unexpected', `The server could not answer (error ${res.status}). Try again in a moment.`);
  }
  if (!res.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(res.status, error.code || 'error', error.message || res.statusText);
  }
  return data;
}

export const UNREACHABLE = 'Parley cannot be reached: check your connection and try again.';

/**
 * Shows in `banner` whether live updates flow: hidden while they do, "reconnecting" while the
 * realtime connection is lost. Answers the handler for the `connection` events of
 * `connectRealtime`.
 */
export function connectionBanner(banner) {
  return (live) => {
    banner.hidden = live;
    banner.textContent = live ? '' : 'Live updates are lost. Reconnecting…';
  };
}

/**
 * Keeps a WebSocket to `/api/v1/realtime` open, reconnecting with the last event id so nothing
 * is missed. `onEvent` gets every event, and `{type: 'connection', live}` when the connection is
 * lost and when it is back; `send` sends a report (see `looking.js`) and answers whether the
 * connection took it.
 */
export function connectRealtime(onEvent) {
  let lastEventId = null;
  let socket = null;
  let retry = 500;
  // Whether the connection broke and has not come back yet: the page says so meanwhile.
  let lost = false;
  const open = () => {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = lastEventId ? `?last_event_id=${encodeURIComponent(lastEventId)}` : '';
    socket = new WebSocket(`${scheme}//${location.host}/api/v1/realtime${query}`);
    socket.onopen = () => {
      retry = 500;
      if (lost) {
        lost = false;
        onEvent({ type: 'connection', live: true });
      }
    };
    socket.onmessage = (frame) => {
      const event = JSON.parse(frame.data);
      if (event.id) lastEventId = event.id;
      onEvent(event);
    };
    socket.onclose = (closed) => {
      // 4001: the session ended (logged out elsewhere, password changed, token revoked).
      if (closed.code === 4001) {
        onEvent({ type: 'session_ended' });
        return;
      }
      // 4003: access changed; reconnect and reload everything under the new access.
      if (closed.code === 4003) {
        retry = 500;
        setTimeout(() => {
          open();
          onEvent({ type: 'resync' });
        }, retry);
        return;
      }
      if (!lost) {
        lost = true;
        onEvent({ type: 'connection', live: false });
      }
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 10000);
    };
  };
  open();
  return {
    send(message) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
  };
}

/** A short notification sound, made in the browser. */
export function chime() {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.3);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.3);
  } catch (_) {
    // No audio available: the visual cues remain.
  }
}

/** `el('li', {class: 'x'}, child…)`: a DOM element; strings become text, never HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** How long ago, in a list row's few characters: "now", "3 min", "2 h", "yesterday", "4 d", else the date. */
export function ago(ms, now = Date.now()) {
  const minutes = Math.floor((now - ms) / 60000);
  if (minutes < 1) return 'now';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h`;
  const days = Math.floor(hours / 24);
  if (days === 1) return 'yesterday';
  if (days < 7) return `${days} d`;
  return new Date(ms).toLocaleDateString([], { dateStyle: 'short' });
}

/**
 * Where to go after logging in: `next` only if it is a path on this origin, decided by parsing
 * it as the browser will (`/\evil.example` and `//evil.example` are other sites); else `fallback`.
 * The path it answers is parsed again, since parsing can make one that is another site's:
 * `/.//evil.example` becomes `//evil.example`.
 */
export function sameOriginPath(next, fallback = '/') {
  if (!next) return fallback;
  try {
    const url = new URL(next, location.origin);
    if (url.origin !== location.origin) return fallback;
    const path = `${url.pathname}${url.search}${url.hash}`;
    const again = new URL(path, location.origin);
    return again.origin === location.origin && !/^[/\\]{2}/.test(path) ? path : fallback;
  } catch (_) {
    return fallback;
  }
}

export function when(ms) {
  return new Date(ms).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

/** An unread count: the number on the badge, and "3 unread" to a screen reader. */
export function unreadBadge(count) {
  return el('span', { class: 'badge', 'data-unread': count }, String(count), el('span', { class: 'visually-hidden' }, ' unread'));
}
