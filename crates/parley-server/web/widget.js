// Parley's live-chat widget. Embed with:
//   <script src="https://your-parley.example/widget.js" async></script>
// It adds a chat button; the chat itself runs in a frame served by Parley, so the host page
// needs no other setup and shares nothing with it. The two speak by `postMessage`, each checking
// who wrote: the frame hears whether its panel is open (only then can the visitor see a reply,
// R43), the button hears how many replies wait unseen and when to ring.
(() => {
  if (window.__parleyWidget) return;
  window.__parleyWidget = true;
  const script = document.currentScript;
  const origin = new URL(script ? script.src : '/', location.href).origin;

  const frame = document.createElement('iframe');
  frame.src = `${origin}/widget/frame`;
  frame.title = 'Chat with us';
  frame.id = 'parley-chat-frame';
  Object.assign(frame.style, {
    position: 'fixed', right: '20px', bottom: '84px', width: '360px', height: '520px',
    maxWidth: 'calc(100vw - 40px)', maxHeight: 'calc(100vh - 110px)', border: '1px solid #d9e2ec',
    borderRadius: '12px', boxShadow: '0 8px 30px rgba(0,0,0,.18)', background: '#fff',
    zIndex: '2147483646', display: 'none',
  });

  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'parley-chat-button';
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', frame.id);
  Object.assign(button.style, {
    position: 'fixed', right: '20px', bottom: '20px', height: '52px', minWidth: '52px', padding: '0 18px',
    borderRadius: '26px', border: '0', background: '#2563eb', color: '#fff', font: '600 15px system-ui, sans-serif',
    cursor: 'pointer', boxShadow: '0 4px 14px rgba(0,0,0,.25)', zIndex: '2147483647',
  });
  const label = document.createElement('span');
  label.textContent = 'Chat';
  const badge = document.createElement('span');
  badge.id = 'parley-chat-badge';
  badge.hidden = true;
  Object.assign(badge.style, {
    marginLeft: '8px', padding: '1px 7px', borderRadius: '10px', background: '#dc2626', color: '#fff',
    font: '700 13px system-ui, sans-serif',
  });
  button.append(label, badge);

  let open = false;
  let unread = 0;
  const show = () => {
    frame.style.display = open ? 'block' : 'none';
    button.setAttribute('aria-expanded', String(open));
    label.textContent = open ? 'Close' : 'Chat';
    // The count shows while the chat is closed: open, the replies are in front of the visitor.
    badge.hidden = open || unread === 0;
    badge.textContent = String(unread);
    button.setAttribute('aria-label', !open && unread ? `Chat, ${unread} unread ${unread === 1 ? 'reply' : 'replies'}` : label.textContent);
  };
  const tellFrame = () => frame.contentWindow && frame.contentWindow.postMessage({ parley: 'panel', open }, origin);
  button.addEventListener('click', () => {
    open = !open;
    show();
    tellFrame();
  });
  show();

  /** A short ring for a reply that came while the chat is closed. */
  const ring = () => {
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
      // No sound here: the count on the button remains.
    }
  };

  window.addEventListener('message', (event) => {
    // Only Parley's frame speaks to the button.
    if (event.origin !== origin || event.source !== frame.contentWindow || !event.data) return;
    if (event.data.parley === 'ready') tellFrame();
    if (event.data.parley === 'unread') {
      unread = Math.max(0, Number(event.data.count) || 0);
      show();
      if (event.data.ring && !open) ring();
    }
  });

  const mount = () => document.body.append(frame, button);
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
