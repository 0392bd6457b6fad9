//! Checking one vector against chatproto. Each check returns every difference it finds, in words.

use std::fmt::Debug;

use chatproto::cipher::{decipher, decipher_byte, encipher, encipher_byte};
use chatproto::wire::layout::{CHECKSUM_AT, FROM_AT, NAME_LEN, TEXT_AT, TEXT_LEN, TO_AT};
use chatproto::{DecodeError, Dialect, Field, Flags, Name, Packet, PacketView, Text, Verb};
use conformance::vectors::{
    CipherVector, ErrorClass, ExpectedError, ExpectedPacket, FieldName, Vector,
};

/// Records a difference between what chatproto gave and what the vector says.
fn differ<T: PartialEq + Debug + ?Sized>(diffs: &mut Vec<String>, what: &str, got: &T, want: &T) {
    if got != want {
        diffs.push(format!(
            "{what}: chatproto gives {got:?}, the vector says {want:?}"
        ));
    }
}

pub fn le_u32(frame: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]])
}

/// Where two frames first differ, by offset and field.
fn frame_difference(got: &[u8], want: &[u8]) -> Option<String> {
    if got == want {
        return None;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let field = match at {
        0..=3 => "packet_number",
        4..=7 => "version",
        8..=39 => "from_name",
        40..=71 => "to_name",
        72..=75 => "verb",
        76..=79 => "checksum",
        80 => "flags",
        _ => "text",
    };
    Some(format!(
        "first difference at byte {at} ({field}): {:02x?} vs {:02x?} (lengths {} and {})",
        got.get(at),
        want.get(at),
        got.len(),
        want.len()
    ))
}

fn verb_named(name: &str) -> Option<Verb> {
    Verb::ALL
        .iter()
        .copied()
        .find(|verb| verb.name() == Some(name))
}

/// The packet the vector's fields describe, built with chatproto's constructors.
fn build(expected: &ExpectedPacket) -> Result<Packet, String> {
    let dialect = Dialect::from_version(expected.version)
        .ok_or_else(|| format!("no dialect has version {}", expected.version))?;
    let verb = verb_named(&expected.verb)
        .ok_or_else(|| format!("chatproto has no verb named {}", expected.verb))?;
    let name = |s: &str| Name::new(s).map_err(|e| format!("Name::new({s:?}): {e}"));
    let text = match dialect {
        Dialect::Legacy => Text::legacy(&expected.text),
        Dialect::V5 => Text::new(&expected.text),
    }
    .map_err(|e| format!("Text for {:?}: {e}", expected.text))?;
    let flags = Flags::from_bits(expected.flags)
        .ok_or_else(|| format!("Flags::from_bits({}) refused", expected.flags))?;
    Packet::new(
        dialect,
        verb,
        name(&expected.from)?,
        name(&expected.to)?,
        text,
    )
    .and_then(|packet| packet.with_number(expected.number).with_flags(flags))
    .map_err(|e| format!("building the packet: {e}"))
}

/// An `expect: ok` vector: both decoders give exactly its fields, and encoding gives back its bytes.
pub fn check_ok(vector: &Vector, expected: &ExpectedPacket) -> Result<(), String> {
    let frame = vector.frame.as_slice();
    let mut diffs = Vec::new();

    let view =
        PacketView::decode(frame).map_err(|e| format!("PacketView::decode failed: {e:?}"))?;
    differ(&mut diffs, "view number", &view.number(), &expected.number);
    differ(
        &mut diffs,
        "view version",
        &view.dialect().version(),
        &expected.version,
    );
    differ(
        &mut diffs,
        "view verb",
        &view.verb().name(),
        &Some(expected.verb.as_str()),
    );
    differ(
        &mut diffs,
        "view checksum",
        &view.checksum(),
        &expected.checksum,
    );
    differ(
        &mut diffs,
        "view flags",
        &view.flags().bits(),
        &expected.flags,
    );
    differ(&mut diffs, "view from", view.from(), expected.from.as_str());
    differ(&mut diffs, "view to", view.to(), expected.to.as_str());
    differ(&mut diffs, "view text", view.text(), expected.text.as_str());
    differ(&mut diffs, "view frame", &view.frame()[..], frame);
    if let Some(plain) = &expected.plain {
        differ(&mut diffs, "deciphered text", &decipher(view.text()), plain);
        differ(
            &mut diffs,
            "enciphered plain",
            &encipher(plain),
            &expected.text,
        );
    }

    let packet = Packet::decode(frame).map_err(|e| format!("Packet::decode failed: {e:?}"))?;
    differ(
        &mut diffs,
        "Packet::decode vs the view",
        &packet,
        &view.to_packet(),
    );
    differ(
        &mut diffs,
        "packet number",
        &packet.number(),
        &expected.number,
    );
    differ(
        &mut diffs,
        "packet version",
        &packet.dialect().version(),
        &expected.version,
    );
    differ(
        &mut diffs,
        "packet verb",
        &packet.verb().name(),
        &Some(expected.verb.as_str()),
    );
    differ(
        &mut diffs,
        "packet flags",
        &packet.flags().bits(),
        &expected.flags,
    );
    differ(
        &mut diffs,
        "packet from",
        packet.from().as_str(),
        expected.from.as_str(),
    );
    differ(
        &mut diffs,
        "packet to",
        packet.to().as_str(),
        expected.to.as_str(),
    );
    differ(
        &mut diffs,
        "packet text",
        packet.text().as_str(),
        expected.text.as_str(),
    );

    if let Some(difference) = frame_difference(&packet.encode(), frame) {
        diffs.push(format!(
            "Packet::encode of the decoded packet: {difference}"
        ));
    }
    match build(expected) {
        Ok(built) => {
            differ(&mut diffs, "packet built from the fields", &built, &packet);
            if let Some(difference) = frame_difference(&built.encode(), frame) {
                diffs.push(format!(
                    "encoding the packet built from the fields: {difference}"
                ));
            }
        }
        Err(error) => diffs.push(error),
    }

    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("\n  "))
    }
}

/// The class and field of a chatproto error.
fn classify(error: &DecodeError) -> Result<(ErrorClass, Option<FieldName>), String> {
    let field = |field: &Field| match field {
        Field::FromName => Ok(Some(FieldName::FromName)),
        Field::ToName => Ok(Some(FieldName::ToName)),
        Field::Text => Ok(Some(FieldName::Text)),
        Field::Name => Err(format!(
            "a frame error names {field:?}, not a frame field: {error:?}"
        )),
    };
    Ok(match error {
        DecodeError::WrongLength { .. } => (ErrorClass::WrongLength, None),
        DecodeError::UnsupportedVersion { .. } => (ErrorClass::UnsupportedVersion, None),
        DecodeError::ChecksumMismatch { .. } => (ErrorClass::ChecksumMismatch, None),
        DecodeError::ReservedFlags { .. } => (ErrorClass::ReservedFlags, None),
        DecodeError::InvalidUtf8 { field: f, .. } => (ErrorClass::InvalidUtf8, field(f)?),
        DecodeError::NonCanonicalPadding { field: f, .. } => {
            (ErrorClass::NonCanonicalPadding, field(f)?)
        }
        DecodeError::UnknownVerb { .. } => (ErrorClass::UnknownVerb, None),
    })
}

fn field_bytes(frame: &[u8], field: FieldName) -> &[u8] {
    match field {
        FieldName::FromName => &frame[FROM_AT..FROM_AT + NAME_LEN],
        FieldName::ToName => &frame[TO_AT..TO_AT + NAME_LEN],
        FieldName::Text => &frame[TEXT_AT..TEXT_AT + TEXT_LEN],
    }
}

/// An `expect: error` vector: both decoders refuse it with exactly that class and field, and what the error
/// carries agrees with the frame.
pub fn check_error(vector: &Vector, expected: ExpectedError) -> Result<(), String> {
    let frame = vector.frame.as_slice();
    let error = match PacketView::decode(frame) {
        Ok(view) => return Err(format!("decodes, but should fail: {view:?}")),
        Err(error) => error,
    };
    let mut diffs = Vec::new();
    let (class, field) = classify(&error)?;
    differ(&mut diffs, "error class", &class, &expected.class);
    differ(&mut diffs, "error field", &field, &expected.field);
    differ(
        &mut diffs,
        "Packet::decode's error",
        &Packet::decode(frame).err(),
        &Some(error.clone()),
    );

    // What the error carries, against the frame's own bytes.
    match &error {
        DecodeError::WrongLength { len } => {
            differ(&mut diffs, "WrongLength len", len, &frame.len())
        }
        DecodeError::ChecksumMismatch {
            received, computed, ..
        } => {
            differ(
                &mut diffs,
                "received checksum",
                received,
                &le_u32(frame, CHECKSUM_AT),
            );
            if computed == received {
                diffs.push(format!("checksum mismatch with equal checksums: {error:?}"));
            }
        }
        DecodeError::ReservedFlags { flags, .. } => differ(&mut diffs, "flags", flags, &frame[80]),
        DecodeError::NonCanonicalPadding { offset, .. } => {
            if let Some(field) = field {
                let bytes = field_bytes(frame, field);
                let first_nul = bytes.iter().position(|&b| b == 0);
                let stray = first_nul
                    .and_then(|nul| bytes[nul..].iter().position(|&b| b != 0).map(|i| nul + i));
                differ(
                    &mut diffs,
                    "offset of the first non-NUL after the first NUL",
                    &Some(*offset),
                    &stray,
                );
            }
        }
        _ => {}
    }
    if let Some(header) = error.header() {
        differ(
            &mut diffs,
            "header number",
            &header.number,
            &le_u32(frame, 0),
        );
        differ(
            &mut diffs,
            "header version",
            &header.version,
            &le_u32(frame, 4),
        );
        differ(
            &mut diffs,
            "header verb",
            &header.verb.to_u32(),
            &le_u32(frame, 72),
        );
        differ(
            &mut diffs,
            "header from",
            &header.from[..],
            field_bytes(frame, FieldName::FromName),
        );
        differ(
            &mut diffs,
            "header to",
            &header.to[..],
            field_bytes(frame, FieldName::ToName),
        );
    }

    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n  (chatproto's error: {error})",
            diffs.join("\n  ")
        ))
    }
}

/// A cipher vector: byte by byte both ways, and the string functions where the bytes are UTF-8.
pub fn check_cipher(vector: &CipherVector) -> Result<(), String> {
    if vector.plain.len() != vector.enciphered.len() {
        return Err(format!(
            "plain has {} bytes, enciphered {}",
            vector.plain.len(),
            vector.enciphered.len()
        ));
    }
    let mut diffs = Vec::new();
    for (at, (&plain, &enciphered)) in vector.plain.iter().zip(&vector.enciphered).enumerate() {
        if encipher_byte(plain) != enciphered {
            diffs.push(format!(
                "byte {at}: encipher_byte({plain}) = {}, the vector says {enciphered}",
                encipher_byte(plain)
            ));
        }
        if decipher_byte(enciphered) != plain {
            diffs.push(format!(
                "byte {at}: decipher_byte({enciphered}) = {}, the vector says {plain}",
                decipher_byte(enciphered)
            ));
        }
    }
    if let (Ok(plain), Ok(enciphered)) = (
        std::str::from_utf8(&vector.plain),
        std::str::from_utf8(&vector.enciphered),
    ) {
        differ(&mut diffs, "encipher", encipher(plain).as_str(), enciphered);
        differ(&mut diffs, "decipher", decipher(enciphered).as_str(), plain);
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("\n  "))
    }
}
