//! Secrets: making them, storing them (never in the clear) and checking them
//! in constant time.
//!
//! Two kinds, stored differently on purpose:
//! - **Generated secrets** (API key secrets, refresh tokens) carry 256 random
//!   bits, so a fast hash cannot be searched: they are stored as their
//!   SHA-256 and checked by comparing hashes in constant time. Each names its
//!   row (`rck_<key id>_…`, `rcr_<session id>_…`), so a secret alone finds
//!   what it belongs to.
//! - **Passwords** are chosen by people: Argon2id with OWASP's parameters
//!   (19 MiB, 2 passes, 1 lane), at most as many at once as there are cores
//!   ([`Hasher`]), so a burst of sign-ins cannot starve other requests of
//!   threads. An unknown user is checked against a decoy hash, which takes
//!   the same time as a real one.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{self, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::Error;

/// The prefix of an API key secret.
pub const KEY_PREFIX: &str = "rck";
/// The prefix of a refresh token.
pub const REFRESH_PREFIX: &str = "rcr";

/// A fresh secret for the row `id`: `<prefix>_<id, 32 hex>_<43 base64url chars>`.
pub fn new_secret(prefix: &str, id: Uuid) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}_{}", id.simple(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The row a secret of this kind names, if it has the shape of one.
pub fn secret_id(prefix: &str, secret: &str) -> Option<Uuid> {
    let rest = secret.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, random) = rest.split_once('_')?;
    (id.len() == 32 && random.len() == 43).then_some(())?;
    Uuid::try_parse(id).ok()
}

/// How a generated secret is stored: its SHA-256, hex.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `secret` is the one stored as `stored_hash`, in constant time.
pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    hash_secret(secret).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// A password as a client sent it, checked: 8 to 256 characters, no control
/// characters. Compared byte for byte (UTF-8), never logged.
#[derive(Clone)]
pub struct Password(String);

/// The password rule as a schema pattern (the lengths are `minLength`/`maxLength`).
pub const PASSWORD_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 256;

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Self, Error> {
        let chars = raw.chars().count();
        let refuse = |why: String| Err(Error::validation(why).detail("field", field.into()));
        if chars < PASSWORD_MIN_CHARS {
            return refuse(format!("The {field} must have at least {PASSWORD_MIN_CHARS} characters"));
        }
        if chars > PASSWORD_MAX_CHARS {
            return refuse(format!("The {field} must have at most {PASSWORD_MAX_CHARS} characters"));
        }
        if raw.chars().any(char::is_control) {
            return refuse(format!("The {field} must not contain control characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// An unchecked candidate, for a sign-in attempt (any string is worth a try).
    pub fn candidate(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Argon2id hashing and checking on threads of its own, one per core, at a
/// lower OS priority than the rest of the server: a flood of sign-ins (a
/// burst of wrong passwords, say) queues for those threads and takes only
/// the CPU that other requests leave, instead of taking every core from
/// them. Each hash needs 19 MiB; with a fixed set of threads, the memory
/// the allocator keeps for them is bounded too (blocking-pool threads come
/// and go by the hundred).
#[derive(Clone)]
pub struct Hasher {
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// How much lower than the server's threads hashing threads run (`nice`).
const HASHING_NICENESS: i32 = 10;

impl Default for Hasher {
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

/// Lowers the calling thread's scheduling priority (Linux: per thread).
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread's own id has no memory
    // effects; a failure leaves the priority as it was.
    unsafe {
        let tid = libc::gettid();
        if libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, HASHING_NICENESS) != 0 {
            tracing::debug!("could not lower the hashing thread's priority");
        }
    }
}

/// OWASP's Argon2id recommendation: m = 19 MiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash no password matches, to check unknown users against.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        hash_now(&base64::engine::general_purpose::STANDARD.encode(random)).expect("the decoy hashes")
    })
}

thread_local! {
    /// The Argon2 working memory of this thread (19 MiB), kept from one hash
    /// to the next: hashing runs on a fixed set of threads, so this bounds
    /// the memory hashing holds, and no hash maps and unmaps 19 MiB.
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `argon` over `password` and `salt`, as a PHC hash, in this thread's
/// working memory (what `PasswordHasher::hash_password` computes, without
/// allocating it each time).
fn compute<'a>(argon: &Argon2<'_>, password: &[u8], salt: Salt<'a>) -> password_hash::Result<PasswordHash<'a>> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let output_len = argon.params().output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let blocks = argon.params().block_count();
    let output = MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        password_hash::Output::init_with(output_len, |out| {
            argon.hash_password_into_with_memory(password, salt_bytes, out, &mut memory[..blocks]).map_err(password_hash::Error::from)
        })
    })?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: password_hash::ParamsString::try_from(argon.params())?,
        salt: Some(salt),
        hash: Some(output),
    })
}

fn hash_now(password: &str) -> Result<String, Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(Error::internal)?;
    Ok(compute(&argon2(), password.as_bytes(), salt.as_salt()).map_err(Error::internal)?.to_string())
}

/// Whether `password` gives the stored hash, with the stored parameters
/// (Argon2id v19 only: what Rollcall writes), compared in constant time.
fn matches(password: &str, stored: &PasswordHash<'_>) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, &stored.hash) else { return false };
    if Algorithm::try_from(stored.algorithm) != Ok(Algorithm::Argon2id) || stored.version != Some(Version::V0x13.into()) {
        return false;
    }
    let Ok(params) = Params::try_from(stored) else { return false };
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    // `Output`'s equality is constant-time.
    compute(&argon, password.as_bytes(), salt).is_ok_and(|computed| computed.hash.as_ref() == Some(expected))
}

fn verify_now(password: &str, stored: Option<&str>) -> bool {
    let (phc, real) = match stored {
        Some(phc) => (phc, true),
        None => (decoy(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        // A stored value that is not a PHC string matches nothing; still
        // take the time a check takes.
        let _ = verify_now(password, None);
        return false;
    };
    matches(password, &parsed) && real
}

impl Hasher {
    /// `threads` hashing threads; they end when the last clone is dropped.
    pub fn new(threads: usize) -> Self {
        crate::allocator::tune();
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("rollcall-hash-{n}")).spawn(move || {
                lower_this_threads_priority();
                loop {
                    // The lock is held only to take the next job.
                    let next = queue.lock().map(|q| q.recv());
                    match next {
                        // A job that panics loses only its own answer.
                        Ok(Ok(job)) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
                        _ => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!("cannot start a password hashing thread: {e}");
            }
        }
        Self { jobs }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs.send(job).map_err(|_| Error::internal("the password hashing threads have stopped"))?;
        answer.await.map_err(|_| Error::internal("a password hashing job was lost"))
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) to store.
    pub async fn hash(&self, password: &Password) -> Result<String, Error> {
        let password = password.expose().to_owned();
        self.run(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `stored`; with `None` (no such user, or no
    /// password), `false` after the same work as a real check.
    pub async fn verify(&self, password: &Password, stored: Option<String>) -> Result<bool, Error> {
        let password = password.expose().to_owned();
        self.run(move || verify_now(&password, stored.as_deref())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_names_its_row_and_matches_only_its_hash() {
        let id = Uuid::new_v4();
        let secret = new_secret(KEY_PREFIX, id);
        assert_eq!(secret_id(KEY_PREFIX, &secret), Some(id));
        assert_eq!(secret_id(REFRESH_PREFIX, &secret), None);
        let stored = hash_secret(&secret);
        assert!(secret_matches(&secret, &stored));
        assert!(!secret_matches(&new_secret(KEY_PREFIX, id), &stored));
        assert!(!stored.contains(&secret[37..]));
    }

    #[test]
    fn passwords_round_trip_and_the_decoy_matches_nothing() {
        let phc = hash_now("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_now("correct horse battery", Some(&phc)));
        assert!(!verify_now("correct horse batterx", Some(&phc)));
        assert!(!verify_now("correct horse battery", None));
        assert!(!verify_now("anything", Some("not a phc string")));
        // Hashes stored by the crate's own hasher (what earlier versions
        // wrote) still verify, and the crate verifies ours.
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let theirs = argon2().hash_password(b"correct horse battery", &salt).unwrap().to_string();
        assert!(verify_now("correct horse battery", Some(&theirs)));
        assert!(!verify_now("correct horse batterx", Some(&theirs)));
        assert!(argon2().verify_password(b"correct horse battery", &PasswordHash::new(&phc).unwrap()).is_ok());
        assert_eq!(compute(&argon2(), b"correct horse battery", salt.as_salt()).unwrap().to_string(), theirs);
    }

    #[test]
    fn the_hashing_threads_answer_every_job_and_run_at_a_lower_priority() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let hasher = Hasher::new(2);
            let right = Password::parse("password", "the right password").unwrap();
            let wrong = Password::parse("password", "the wrong password").unwrap();
            let phc = hasher.hash(&right).await.unwrap();
            // More jobs than threads: they queue and every one is answered.
            let checks: Vec<_> = (0..6)
                .map(|i| {
                    let (hasher, phc) = (hasher.clone(), phc.clone());
                    let candidate = if i % 2 == 0 { right.clone() } else { wrong.clone() };
                    async move { hasher.verify(&candidate, Some(phc)).await.unwrap() }
                })
                .collect();
            let answers = futures_util::future::join_all(checks).await;
            assert_eq!(answers, [true, false, true, false, true, false]);
            #[cfg(target_os = "linux")]
            {
                let niceness = hasher
                    .run(|| unsafe {
                        // SAFETY: reads the calling thread's own priority.
                        libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t)
                    })
                    .await
                    .unwrap();
                assert_eq!(niceness, HASHING_NICENESS);
            }
        });
    }

    #[test]
    fn password_rules() {
        assert!(Password::parse("password", "short").is_err());
        assert!(Password::parse("password", "has\u{0}nul-inside").is_err());
        assert!(Password::parse("password", &"x".repeat(257)).is_err());
        assert!(Password::parse("password", "long enough ✓").is_ok());
        assert_eq!(format!("{:?}", Password::candidate("secret")), "Password(***)");
    }
}
