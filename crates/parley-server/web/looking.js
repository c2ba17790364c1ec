// R43: the page's one "I am looking" report on the realtime socket — which conversation is open,
// whether the page is shown, and the newest message in view. The server reads and sees only what
// a visible page shows, and keeps the open conversation's new messages coming. Nothing counts as
// seen because it arrived, or because it sits in a hidden tab or out of view.

/** A message is in view when half of it, or this much of a tall one, is on screen. */
const ENOUGH_PX = 120;

/**
 * Watches what the page shows and reports it through `send` (which answers whether the socket
 * took it). `shown` says whether the page's own part is open (the widget's panel); `onRead` hears
 * each newest message reported read.
 */
export function watchLooking(send, { shown = () => true, onRead = () => {} } = {}) {
  let conversation = null;
  const inView = new Map();
  // What the server was told last; `newest` is -1 for nothing.
  let told = null;
  let timer = null;
  const visible = () => document.visibilityState === 'visible' && shown();
  const report = () => {
    timer = null;
    const seeing = visible();
    const numbers = [...inView.values()].filter(Number.isFinite);
    const newest = seeing && conversation !== null && numbers.length ? Math.max(...numbers) : -1;
    const same = told && told.conversation === conversation && told.visible === seeing;
    // Only news goes out: another conversation, a change of visibility, a newer message in view.
    if (same && newest <= told.newest) return;
    const message = { type: 'looking', conversation_id: conversation, visible: seeing, newest_in_view: newest < 0 ? null : newest };
    if (!send(message)) return; // not connected: said again when it is
    told = { conversation, visible: seeing, newest: same ? Math.max(newest, told.newest) : newest };
    if (newest >= 0) onRead(conversation, newest);
  };
  const soon = () => {
    if (!timer) timer = setTimeout(report, 100);
  };
  const observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const enough = e.isIntersecting && (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= ENOUGH_PX);
        if (enough) inView.set(e.target, Number(e.target.dataset.number));
        else inView.delete(e.target);
      }
      soon();
    },
    { threshold: [0, 0.25, 0.5, 0.75, 1] },
  );
  document.addEventListener('visibilitychange', soon);
  return {
    /** The conversation now open (`null`: none) and its messages' elements (with `data-number`). */
    show(id, elements) {
      conversation = id ?? null;
      observer.disconnect();
      inView.clear();
      for (const e of elements) observer.observe(e);
      soon();
    },
    /** What is shown changed otherwise (the widget's panel opened or closed). */
    changed: soon,
    /** A new connection knows nothing yet: tell it again. */
    reconnected() {
      told = null;
      soon();
    },
  };
}
