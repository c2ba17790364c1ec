//! R42: the statements of routing and assignment, shared by the backends. Each backend runs them
//! in one write; PostgreSQL locks the one `routing` row first, so that two nodes routing at the
//! same moment take turns and never both give a user their last free place.

/// Open conversations assigned to user `$1`: their own (independent) ones and their items'.
pub const OPEN_ASSIGNED: &str = "SELECT a.id FROM (
      SELECT p.conversation_id AS id FROM conversation_people p
       WHERE p.party_kind = 'user' AND p.party_id = $1 AND p.role = 'assignee'
      UNION SELECT c.id FROM item_people ip JOIN conversations c ON c.item_id = ip.item_id
       WHERE ip.party_kind = 'user' AND ip.party_id = $1 AND ip.role = 'assignee'
    ) a JOIN conversations c ON c.id = a.id WHERE c.state = 'open' ORDER BY a.id";

/// Whether conversation `$1` has someone assigned: itself, or its item.
pub const HAS_ASSIGNEE: &str = "SELECT EXISTS (SELECT 1 FROM conversation_people p
       WHERE p.conversation_id = $1 AND p.role = 'assignee')
    OR EXISTS (SELECT 1 FROM conversations c JOIN item_people ip ON ip.item_id = c.item_id
       WHERE c.id = $1 AND ip.role = 'assignee')";

/// Whom round-robin chose last.
pub const LAST_ROUTED: &str = "SELECT last_user_id FROM routing WHERE id = 1";

/// Remembers `$1` as chosen last.
pub const ROUTED: &str = "UPDATE routing SET last_user_id = $1 WHERE id = 1";

/// Users `$1` (a user's id) with whether they are away and when a node last said they were
/// connected; only active ones.
pub const AVAILABILITY: &str = "SELECT away, connected_at FROM users WHERE id = $1 AND deactivated_at IS NULL";
