//! [`Argon2Hasher`]: the server's [`PasswordHasher`], argon2id with a random salt per password (PROTOCOL.md
//! R-8.3).

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chatproto::chat::{PasswordHasher, StoreError};

/// Hashes passwords with argon2id and a fresh 16-byte random salt each, into a PHC string such as
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, which carries everything [`PasswordHasher::verify`]
/// needs: a hash made with other parameters still verifies.
///
/// ```
/// use chatproto::chat::PasswordHasher;
/// use chatproto_examples::store::Argon2Hasher;
///
/// let hasher = Argon2Hasher::fast_for_tests();
/// let hash = hasher.hash("hunter2")?;
/// assert!(hash.starts_with("$argon2id$"));
/// assert!(hasher.verify(&hash, "hunter2"));
/// assert!(!hasher.verify(&hash, "hunter3"));
/// # Ok::<(), chatproto::chat::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argon2Hasher {
    params: Params,
}

impl Default for Argon2Hasher {
    /// The argon2 crate's default parameters, OWASP's recommendation for argon2id: 19 MiB of memory, 2
    /// passes, 1 lane. Some tens of milliseconds per hash in a release build, most of a second in a debug
    /// one.
    fn default() -> Argon2Hasher {
        Argon2Hasher {
            params: Params::DEFAULT,
        }
    }
}

impl Argon2Hasher {
    /// The smallest parameters argon2 allows (8 KiB, 1 pass, 1 lane), still argon2id: for tests in debug
    /// builds. Far too cheap to resist guessing; never use it in a server.
    pub fn fast_for_tests() -> Argon2Hasher {
        // Checked when compiling: the minimum parameters are valid.
        const FAST: Params = match Params::new(Params::MIN_M_COST, 1, 1, None) {
            Ok(params) => params,
            Err(_) => panic!("the minimum argon2 parameters are invalid"),
        };
        Argon2Hasher { params: FAST }
    }

    /// The argon2 parameters new hashes are made with.
    pub fn params(&self) -> &Params {
        &self.params
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> Result<String, StoreError> {
        // A fresh salt from the operating system's random source for every password.
        let salt = SaltString::generate(&mut password_hash::rand_core::OsRng);
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| StoreError(format!("hashing a password: {e}")))
    }

    /// Checks `password` against the algorithm, parameters and salt the PHC string `hash` names; `false`
    /// as well when `hash` is not a PHC string or names no argon2 variant.
    fn verify(&self, hash: &str, password: &str) -> bool {
        PasswordHash::new(hash)
            .and_then(|parsed| self.argon2().verify_password(password.as_bytes(), &parsed))
            .is_ok()
    }
}
