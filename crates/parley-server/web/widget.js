// Parley's live-chat widget. Embed with:
//   <script src="https://your-parley.example/widget.js" async></script>
// It adds a chat button; the chat itself runs in a frame served by Parley, so the host page
// needs no other setup and shares nothing with it.
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
  button.textContent = 'Chat';
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', frame.id);
  Object.assign(button.style, {
    position: 'fixed', right: '20px', bottom: '20px', height: '52px', minWidth: '52px', padding: '0 18px',
    borderRadius: '26px', border: '0', background: '#2563eb', color: '#fff', font: '600 15px system-ui, sans-serif',
    cursor: 'pointer', boxShadow: '0 4px 14px rgba(0,0,0,.25)', zIndex: '2147483647',
  });
  button.addEventListener('click', () => {
    const open = frame.style.display === 'none';
    frame.style.display = open ? 'block' : 'none';
    button.setAttribute('aria-expanded', String(open));
    button.textContent = open ? 'Close' : 'Chat';
  });

  const mount = () => document.body.append(frame, button);
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
