// The names of those who wrote to a customer, as the company shows them (the team may go by one
// display name): asked once per author, by one of their messages, and kept for the page's life.

const keyOf = (author) => `${author.kind}:${author.id ?? ''}`;

/** `ask(messageId)` answers `{ name }` for that message's author (`GET /messages/{id}/author`). */
export function authorNames(ask) {
  const names = new Map();
  return {
    /** The name learnt for `author`, or undefined. */
    of(author) {
      return names.get(keyOf(author));
    },
    /** Learns the authors of `messages` not known yet; a failed look-up leaves a generic name. */
    async learn(messages) {
      const missing = new Map();
      for (const m of messages) {
        const key = keyOf(m.author);
        if (!names.has(key) && !missing.has(key)) missing.set(key, m.id);
      }
      await Promise.all(
        [...missing].map(async ([key, id]) => {
          try {
            names.set(key, (await ask(id)).name);
          } catch (_) {
            // Shown as "Support" or "Customer" instead.
          }
        }),
      );
    },
  };
}
