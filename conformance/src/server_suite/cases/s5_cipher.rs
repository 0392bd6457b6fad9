//! §5, the cipher: what the encrypted flag does to text, and what it leaves alone.

use chatproto::wire::layout::{FLAGS_AT, TEXT_AT};

use super::common::*;

const CIPHER: &[Feature] = &[Feature::Cipher];

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-5.1/1",
        "an encrypted BROADCAST is relayed with the flag and its text enciphered exactly as R-5.1 says",
        |c| Box::pin(relayed_enciphered(c)),
    )
    .needs(CIPHER),
    Case::new(
        "R-5.2/1",
        "the server deciphers what it reads: an encrypted HISTORY_REQUEST for 2 is understood",
        |c| Box::pin(server_deciphers(c)),
    )
    .v5()
    .needs(&[Feature::Cipher, Feature::History]),
    Case::new(
        "R-5.3/1",
        "the checksum covers the text as sent: one computed over the plain text gets RESEND",
        |c| Box::pin(checksum_over_ciphertext(c)),
    )
    .needs(CIPHER),
    Case::new(
        "R-5.3/2",
        "names are never enciphered: an encrypted PRIVATE_MESSAGE keeps its names plain",
        |c| Box::pin(names_plain(c)),
    )
    .needs(CIPHER),
];

/// Printable ASCII at both ends of the range, a wrap-around (`r`, `~`) and multi-byte characters.
const PLAIN: &str = "Hello, qr~ wörld! 123";

/// A frame from `client` with the encrypted flag and `text` enciphered by the suite's own.
fn encrypted_frame(client: &RawClient, verb: Verb, to: &str, text: &str) -> Check<Frame> {
    let mut frame = frame(client, verb, to, &frames::encipher(text))?;
    frame[FLAGS_AT] = 1;
    frames::reseal(&mut frame);
    Ok(frame)
}

async fn relayed_enciphered(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let plain = format!("{PLAIN} {}", ctx.name("c"));
    let frame = encrypted_frame(&ann, Verb::BROADCAST, "ALL", &plain)?;
    ann.take_number();
    ann.send_frame_tracked(&frame).await?;
    let got = bob
        .expect("the encrypted BROADCAST", |m| {
            m.is(Verb::BROADCAST) && m.text == plain
        })
        .await?;
    let bytes = got.frames[0].bytes;
    check!(
        bytes[FLAGS_AT] & 1 == 1,
        "expected the encrypted flag on the relay, got {got}"
    );
    let cipher = frames::encipher(&plain);
    let sent = &bytes[TEXT_AT..TEXT_AT + cipher.len()];
    check!(
        sent == cipher.as_bytes(),
        "expected the relayed text enciphered as {:?}, got {:?}",
        cipher,
        String::from_utf8_lossy(sent)
    );
    Ok(())
}

async fn server_deciphers(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    // "2" enciphers to "?"; a server that read the text as sent would find no number in it.
    let frame = encrypted_frame(&ann, Verb::HISTORY_REQUEST, "server", "2")?;
    ann.take_number();
    ann.send_frame_tracked(&frame).await?;
    let end = ann
        .expect("the history's end marker, or ERROR", |m| {
            (m.is(Verb::HISTORY_REPLY) && m.from == "server") || m.is_error()
        })
        .await?;
    check!(
        !end.is_error(),
        "expected the history for an encrypted request of 2, got {end}"
    );
    Ok(())
}

async fn checksum_over_ciphertext(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let plain = format!("{PLAIN} {}", ctx.name("c"));
    let number = ann.peek_number();
    let good = encrypted_frame(&ann, Verb::BROADCAST, "ALL", &plain)?;
    // The same frame with the checksum of the plain text: a sender that summed before enciphering.
    let mut wrong = frame(&ann, Verb::BROADCAST, "ALL", &plain)?;
    wrong[FLAGS_AT] = 1;
    frames::reseal(&mut wrong);
    let mut bad = good;
    bad[76..80].copy_from_slice(&wrong[76..80]);
    let resend = resend_of(ann.dialect(), number);
    ann.send_expecting(&bad, &format!("RESEND {number}"), resend)
        .await?;
    ann.take_number();
    ann.send_frame_tracked(&good).await?;
    ann.expect_confirm(number).await?;
    bob.expect("the encrypted BROADCAST with the right checksum", |m| {
        m.is(Verb::BROADCAST) && m.text == plain
    })
    .await?;
    Ok(())
}

async fn names_plain(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let plain = ctx.name("secret");
    let to = bob.name().to_owned();
    let frame = encrypted_frame(&ann, Verb::PRIVATE_MESSAGE, &to, &plain)?;
    ann.take_number();
    ann.send_frame_tracked(&frame).await?;
    let got = bob
        .expect("the encrypted PRIVATE_MESSAGE", |m| {
            m.is(Verb::PRIVATE_MESSAGE) && m.text == plain
        })
        .await?;
    check!(
        got.from == ann.name() && got.to == to && got.encrypted,
        "expected an encrypted PRIVATE_MESSAGE from {:?} to {to:?}, names plain, got {got}",
        ann.name()
    );
    Ok(())
}
