//! §9.1 What each transport protects.

use super::*;

fn plaintext() -> Link {
    Link::plaintext(Some("192.0.2.7:4000".parse().unwrap()))
}

fn errors_to(out: &[Output], client: ClientId) -> Vec<String> {
    shapes_to(out, client)
        .into_iter()
        .filter(|s| s.0 == Verb::ERROR)
        .map(|s| s.3)
        .collect()
}

// REGISTER on a link without confidentiality is refused with ERROR and stores nothing.
#[test]
fn register_over_plaintext_is_refused_and_creates_no_account() {
    let mut t = Harness::new();
    let eve = t.connect_on(V5, plaintext());
    let out = t.register_as(eve, "eve", "secret");
    let errors = errors_to(&out, eve);
    assert_eq!(errors.len(), 1, "{out:#?}");
    assert!(errors[0].contains("not encrypted"), "{errors:?}");
    assert!(!told_connected(&out, eve, "eve"));
    assert!(t.hub.store().password_hash("eve").unwrap().is_none());
    // The same name registers fine over a confidential link: nothing was held back.
    t.register("eve", "secret");
}

// AUTH on a link without confidentiality is refused, right password or not, and does not count as
// a failed guess.
#[test]
fn auth_over_plaintext_is_refused_even_with_the_right_password() {
    let mut t = Harness::new();
    let ann = t.register("ann", "pw");
    t.quit(ann, "ann");
    for _ in 0..10 {
        let client = t.connect_on(V5, plaintext());
        let out = t.auth_as(client, "ann", "pw");
        assert!(!told_connected(&out, client, "ann"), "{out:#?}");
        assert_eq!(errors_to(&out, client).len(), 1, "{out:#?}");
    }
    // Ten refusals did not trip the per-name guessing limit.
    let ann = t.connect(V5);
    let out = t.auth_as(ann, "ann", "pw");
    assert!(told_connected(&out, ann, "ann"), "{out:#?}");
}

// a plaintext link still allows LOGIN without a password.
#[test]
fn login_without_a_password_works_over_plaintext() {
    let mut t = Harness::new();
    let bob = t.connect_on(V5, plaintext());
    let out = t.login_as(bob, "bob");
    assert!(told_connected(&out, bob, "bob"), "{out:#?}");
}
