//! R40 for sockets: how many realtime connections one person, and one client address, may hold
//! open at once. Each open connection holds a slot; dropping it (the connection ends) frees it.

use parley_domain::Party;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// A person's tabs and devices together.
pub const MAX_PER_PERSON: usize = 20;
/// One address: an office behind one NAT, many people each with a few tabs. Not applied when
/// the abuse limits are off (load tests open thousands from one machine).
pub const MAX_PER_CLIENT: usize = 500;

#[derive(Default)]
struct Counts {
    people: HashMap<Party, usize>,
    clients: HashMap<IpAddr, usize>,
}

/// The open connections, counted per person and per client address.
#[derive(Clone, Default)]
pub struct SocketSlots {
    counts: Arc<Mutex<Counts>>,
}

/// One open connection's place; freed when dropped.
pub struct SocketSlot {
    counts: Arc<Mutex<Counts>>,
    party: Party,
    client: Option<IpAddr>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Person,
    Client,
}

fn lock(counts: &Mutex<Counts>) -> std::sync::MutexGuard<'_, Counts> {
    counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SocketSlots {
    /// A slot for a new connection of `party` from `client`, unless either holds its most;
    /// `per_client` says whether the client's cap applies.
    pub fn take(&self, party: Party, client: Option<IpAddr>, per_client: bool) -> Result<SocketSlot, Full> {
        let mut counts = lock(&self.counts);
        if counts.people.get(&party).copied().unwrap_or(0) >= MAX_PER_PERSON {
            return Err(Full::Person);
        }
        let client = client.filter(|_| per_client);
        if let Some(ip) = client {
            if counts.clients.get(&ip).copied().unwrap_or(0) >= MAX_PER_CLIENT {
                return Err(Full::Client);
            }
            *counts.clients.entry(ip).or_insert(0) += 1;
        }
        *counts.people.entry(party).or_insert(0) += 1;
        Ok(SocketSlot { counts: self.counts.clone(), party, client })
    }
}

impl SocketSlots {
    /// The people with a connection open now.
    pub fn connected(&self) -> Vec<Party> {
        lock(&self.counts).people.keys().copied().collect()
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        fn free<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K) {
            if let Some(n) = map.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
        free(&mut counts.people, self.party);
        if let Some(ip) = self.client {
            free(&mut counts.clients, ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_domain::CustomerId;

    #[test]
    fn r40_a_person_and_a_client_hold_a_bounded_number_of_sockets() {
        let slots = SocketSlots::default();
        let carla = Party::Customer(CustomerId(1));
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let held: Vec<SocketSlot> = (0..MAX_PER_PERSON).map(|_| slots.take(carla, Some(ip), true).unwrap()).collect();
        assert_eq!(slots.take(carla, Some(ip), true).err(), Some(Full::Person));
        drop(held);
        assert!(slots.take(carla, Some(ip), true).is_ok(), "closing frees the slots");

        let mut others = Vec::new();
        for n in 0..MAX_PER_CLIENT {
            others.push(slots.take(Party::Customer(CustomerId(100 + n as i64)), Some(ip), true).unwrap());
        }
        let next = Party::Customer(CustomerId(9_999));
        assert_eq!(slots.take(next, Some(ip), true).err(), Some(Full::Client));
        assert!(slots.take(next, Some(ip), false).is_ok(), "no cap per client when the limits are off");
        assert!(slots.take(next, Some("198.51.100.1".parse().unwrap()), true).is_ok(), "another client");
    }
}
