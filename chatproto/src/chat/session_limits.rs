//! The limits on sessions (PROTOCOL.md §9.2): how many there may be, how fast each may send
//! and how long one may take to log in or sit idle.

use std::time::Instant;

use crate::fragment::Message;
use crate::wire::Dialect;

use super::hub::{Client, Hub};
use super::io::{ClientId, Link, Output};
use super::rate::{RecentRefusals, TokenBucket};
use super::store::{PasswordHasher, Store};

/// Connections beyond the session limit waiting to hear why, at most.
const TURNED_AWAY_WAITING: usize = 1024;

impl<S: Store, H: PasswordHasher> Hub<S, H> {
    /// the first packet of a connection beyond the limit is answered `server full`, and it is closed.
    pub(super) fn turn_away(&mut self, client: ClientId, dialect: crate::wire::Dialect) -> bool {
        let Some(i) = self.turned_away.iter().position(|&c| c == client) else {
            return false;
        };
        self.turned_away.swap_remove(i);
        let why = format!(
            "server full: {} sessions already; try again later",
            self.limits.max_sessions
        );
        let text = super::reply::error_text(&why);
        let mut message = crate::fragment::Message::new(
            crate::wire::Verb::ERROR,
            crate::wire::Name::SERVER,
            crate::wire::Name::default(),
            text,
        );
        message.dialect = dialect;
        self.out.push(Output::Send {
            to: client,
            message: std::sync::Arc::new(message),
            receipt: None,
        });
        self.out.push(Output::Close(client));
        true
    }

    /// a new session, unless the server is full.
    pub(super) fn connected_on(&mut self, client: ClientId, link: Link) {
        if self.clients.contains_key(&client) {
            return;
        }
        if self.clients.len() >= self.limits.max_sessions {
            // Nothing is kept for it: it is told, closed, and its disconnection finds nothing to undo.
            // Its dialect is known only once it speaks, so the ERROR waits for its first packet;
            // a connection that never speaks is closed at once when too many are waiting.
            if self.turned_away.len() < TURNED_AWAY_WAITING {
                self.turned_away.push(client);
            } else {
                self.out.push(Output::Close(client));
            }
            return;
        }
        let now = self.now;
        let limits = &self.limits;
        let state = Client {
            name: None,
            dialect: Dialect::V5,
            link,
            connected_at: now,
            last_data: now,
            rate: TokenBucket::full(limits.rate_burst, limits.rate_per_second, now),
            refusals: RecentRefusals::new(limits.refusals_to_close, limits.refusal_window),
            rooms: 0,
            closing: false,
        };
        self.clients.insert(client, state);
    }

    /// Whether a message received on `client` may be acted on. Not when the session is closing, nor when
    /// it finds its token bucket empty: then it is answered with ERROR, and the session is closed
    /// once too many have been refused. Either way the caller still confirms it.
    pub(super) fn within_limits(&mut self, client: ClientId, message: &Message) -> bool {
        let now = self.now;
        let Some(state) = self.clients.get_mut(&client) else {
            return false;
        };
        if state.closing {
            return false;
        }
        state.dialect = message.dialect;
        // every data packet counts as activity, refused or not; keepalives never reach the hub.
        state.last_data = now;
        if state.rate.take(now) {
            // the session's reassembler bounds a message already; a hub driven by other means
            // holds to the same bound, so nothing it sends back can outgrow a client's limit.
            let max = self.limits.max_message;
            if message.text.len() > max {
                self.error(
                    client,
                    &format!("a message may hold at most {max} bytes; this one was ignored"),
                );
                return false;
            }
            return true;
        }
        // "confirmed but not acted on", and "slow down".
        let limits = &self.limits;
        if state.refusals.refused(now) {
            let why = format!(
                "slow down: {} messages refused within {:?}; closing the session",
                limits.refusals_to_close, limits.refusal_window
            );
            self.error(client, &why);
            self.close(client);
        } else {
            let why = format!(
                "slow down: at most {} messages a second, in bursts of {}; this one was ignored",
                limits.rate_per_second, limits.rate_burst
            );
            self.error(client, &why);
        }
        false
    }

    /// closes, after an ERROR saying why, every session that has not logged in within the login
    /// timeout and every logged-in session that has sent nothing for the idle timeout.
    pub(super) fn tick(&mut self) {
        let now = self.now;
        let limits = &self.limits;
        let mut expired: Vec<(ClientId, String)> = self
            .clients
            .iter()
            .filter(|(_, state)| !state.closing)
            .filter_map(|(&client, state)| {
                let why = match state.name {
                    None if now.saturating_duration_since(state.connected_at)
                        >= limits.login_timeout =>
                    {
                        format!(
                            "login timeout: not logged in within {:?}; closing the session",
                            limits.login_timeout
                        )
                    }
                    Some(_)
                        if now.saturating_duration_since(state.last_data)
                            >= limits.idle_timeout =>
                    {
                        format!(
                            "idle timeout: nothing sent for {:?}; closing the session",
                            limits.idle_timeout
                        )
                    }
                    _ => return None,
                };
                Some((client, why))
            })
            .collect();
        // The table's order is arbitrary; the outputs' should not be.
        expired.sort();
        for (client, why) in expired {
            self.error(client, &why);
            self.close(client);
        }
    }

    /// When the next session will reach its login or idle timeout, if any session can: an
    /// [`Input::Tick`](super::Input::Tick) at that time closes it. A server may feed ticks periodically
    /// instead.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.clients
            .values()
            .filter(|state| !state.closing)
            .filter_map(|state| match state.name {
                None => state.connected_at.checked_add(self.limits.login_timeout),
                Some(_) => state.last_data.checked_add(self.limits.idle_timeout),
            })
            .min()
    }
}
