//! [`Relayer`]: a way to queue relayed messages for one session from any thread, without waiting.
//!
//! A server that relays one message to thousands of sessions pays, per session, for every task it wakes on
//! the way. [`Transport::relay`](super::Transport::relay) goes through the application's own task first;
//! a `Relayer` puts the message straight into the queue of the task that drives the session, so a relay
//! wakes one task per session instead of two.

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore, TryAcquireError};

use crate::session::SharedMessage;

use super::driver::{relay_room, Command};

/// Queues relayed messages for one [`SessionTransport`](super::SessionTransport) without waiting: see
/// [`Transport::relayer`](super::Transport::relayer). Cheap to clone; usable from any thread, inside a tokio
/// runtime or not.
///
/// A message relayed this way is handled as [`Transport::relay`](super::Transport::relay) handles it: no
/// number, no [`Incoming::Confirmed`](super::Incoming::Confirmed), and dropped if it cannot be put into
/// frames. It is queued behind whatever the transport's own handle has queued before it, so an
/// application that sends through both keeps its order by not relaying here while a send through the
/// handle is still on its way (the handle's calls return once their messages are queued).
#[derive(Clone, Debug)]
pub struct Relayer {
    /// Weak, so that a relayer kept after the transport's handle is dropped does not keep its session open.
    pub(super) commands: mpsc::WeakSender<Command>,
    pub(super) relay_room: Arc<Semaphore>,
}

/// Why [`Relayer::try_relay`] did not queue a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// The session has as much queued as it may hold; the message was not taken. A caller that must not
    /// wait either sends it through the transport's handle, which waits for room, or treats the peer as
    /// too slow.
    #[error("the session's queue is full")]
    Full,
    /// The session has ended.
    #[error("the session has ended")]
    Closed,
}

impl Relayer {
    /// Queues `message` for the session, or says why not at once.
    pub fn try_relay(&self, message: Arc<SharedMessage>) -> Result<(), RelayError> {
        // The same room as `Transport::relay` takes.
        let room = relay_room(&message);
        let permits = u32::try_from(room).map_err(|_| RelayError::Full)?;
        match self.relay_room.try_acquire_many(permits) {
            Ok(permit) => permit.forget(),
            Err(TryAcquireError::NoPermits) => return Err(RelayError::Full),
            Err(TryAcquireError::Closed) => return Err(RelayError::Closed),
        }
        let Some(commands) = self.commands.upgrade() else {
            self.relay_room.add_permits(room);
            return Err(RelayError::Closed);
        };
        match commands.try_send(Command::Relay(message)) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.relay_room.add_permits(room);
                Err(match error {
                    mpsc::error::TrySendError::Full(_) => RelayError::Full,
                    mpsc::error::TrySendError::Closed(_) => RelayError::Closed,
                })
            }
        }
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.commands
            .upgrade()
            .is_none_or(|commands| commands.is_closed())
    }
}
