//! [`Relay`]: one message on its way to many sessions. Each dialect's form of it is built once and shared,
//! so relaying to a thousand sessions allocates nothing per recipient.

use std::sync::Arc;

use crate::fragment::Message;
use crate::wire::{Dialect, Name, Verb};

/// A message and the forms of it each dialect gets, built when first needed.
#[derive(Debug)]
pub(super) struct Relay {
    v5: Arc<Message>,
    /// `None` until a legacy recipient needs it; `Some(None)` when legacy clients don't get it at all.
    legacy: Option<Option<Arc<Message>>>,
}

impl Relay {
    pub(super) fn new(mut message: Message) -> Relay {
        // Numbers are the sending session's business; the hub's copy carries none.
        message.number = 0;
        message.dialect = Dialect::V5;
        let legacy = if message.text.contains('\0') {
            // Text from a v4 client may hold NULs, which v5 cannot carry: v5 recipients
            // get it without them, v4 recipients as it was sent.
            let original = legacy_form(&message);
            message.text.retain(|c| c != '\0');
            Some(original.map(Arc::new))
        } else {
            None
        };
        Relay {
            v5: Arc::new(message),
            legacy,
        }
    }

    /// The form a session of `dialect` gets, if it gets one.
    pub(super) fn for_dialect(&mut self, dialect: Dialect) -> Option<Arc<Message>> {
        match dialect {
            Dialect::V5 => Some(Arc::clone(&self.v5)),
            Dialect::Legacy => self
                .legacy
                .get_or_insert_with(|| legacy_form(&self.v5).map(Arc::new))
                .clone(),
        }
    }
}

/// What a legacy client sees of a message: verbs it knows pass as they are; a room message becomes a
/// broadcast marked with the room; other verbs of 16 and up are not for it.
fn legacy_form(message: &Message) -> Option<Message> {
    let mut legacy = message.clone();
    legacy.dialect = Dialect::Legacy;
    if message.verb.to_u32() >= 16 {
        if message.verb != Verb::ROOM_MESSAGE {
            return None;
        }
        legacy.text = format!("[{}] {}", message.to, message.text);
        legacy.verb = Verb::BROADCAST;
        legacy.to = Name::ALL;
    }
    Some(legacy)
}
