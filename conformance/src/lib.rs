//! Conformance material for chatproto: language-neutral test vectors in `vectors/`.

#![warn(missing_docs)]
