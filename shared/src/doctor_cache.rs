//! The cache-aside read of a doctor's profile, and keeping that cache honest.
//!
//! 1. `MGET doctor:<id> doctor-missing:<id> lock:doctor:<id>`: a hit answers at once.
//! 2. On a miss, one request wins `SET lock:doctor:<id> NX PX`, looks once
//!    more (a fill may have landed since its first look), reads the document
//!    and fills `doctor:<id>` (`EX 3600`) or `doctor-missing:<id>` (`EX 30`);
//!    the others poll briefly for that fill instead of all reading the
//!    documents. The lock lives in Redis because Spin instances share
//!    nothing else: every request may run in a fresh instance on any host.
//! 3. The fill happens only while the filler still holds the lock, and writers
//!    delete the lock, so a load that raced a write cannot cache stale data.
//!
//! Redis failing turns the read into a straight document read (`BYPASS`).

use std::time::Duration;

use crate::data_api::DataApi;
use crate::doctor::{DoctorId, DoctorProfile, COLLECTION};
use crate::ports::{Clock, IdSource, Redis, RedisError};
use crate::redis_ext::RedisExt;
use crate::ApiError;

/// Lifetime of a cached profile (contract: `SET doctor:<id> ... EX 3600`).
pub const PROFILE_TTL_SECS: i64 = 3600;
/// Lifetime of the memory that a doctor does not exist.
pub const MISSING_TTL_SECS: i64 = 30;
/// How long a loader may hold the lock before others give up on it.
const LOCK_MILLIS: i64 = 2000;
/// How long a request waits for another one's fill before reading itself.
const WAIT_MILLIS: f64 = 1500.0;
const POLL_EVERY: Duration = Duration::from_millis(15);

/// Sets `KEYS[2]` only while `KEYS[1]` (the lock) still holds this loader's
/// token, then releases the lock: a writer that deleted the lock meanwhile
/// wins.
const FILL_IF_LOCKED: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) \
     redis.call('DEL', KEYS[1]) return 1 else return 0 end";

/// How a read was answered, for the `X-Cache` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
    Bypass,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Bypass => "BYPASS",
        }
    }
}

/// The outcome of a read: the profile's JSON (`None`: no such doctor).
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub profile: Option<Vec<u8>>,
    pub cache: CacheStatus,
}

pub struct DoctorCache<'a> {
    pub redis: &'a dyn Redis,
    pub docs: &'a DataApi,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn IdSource,
}

impl DoctorCache<'_> {
    pub fn read(&self, id: DoctorId) -> Result<Lookup, ApiError> {
        match self.read_through(id) {
            Ok(lookup) => Ok(lookup),
            Err(ReadError::Api(err)) => Err(err),
            Err(ReadError::Redis(err)) => {
                eprintln!("cache bypassed: {err}");
                Ok(Lookup {
                    profile: self.load(id)?,
                    cache: CacheStatus::Bypass,
                })
            }
        }
    }

    fn read_through(&self, id: DoctorId) -> Result<Lookup, ReadError> {
        let (profile_key, missing_key, lock_key) =
            (id.cache_key(), id.missing_key(), id.lock_key());
        let deadline = self.clock.monotonic_millis() + WAIT_MILLIS;
        loop {
            let found = self.redis.mget(&[&profile_key, &missing_key, &lock_key])?;
            if let Some(hit) = cached(&found) {
                return Ok(hit);
            }
            if matches!(found.get(2), Some(None)) {
                let token = self.ids.token();
                if self
                    .redis
                    .set_nx_px(&lock_key, token.as_bytes(), LOCK_MILLIS)?
                {
                    // Checked again under the lock: another loader may have
                    // filled and unlocked between our look and our lock.
                    if let Some(hit) = cached(&self.redis.mget(&[&profile_key, &missing_key])?) {
                        let _ = self.redis.delete_if_equals(&lock_key, token.as_bytes());
                        return Ok(hit);
                    }
                    return self.load_and_fill(id, &token);
                }
            }
            if self.clock.monotonic_millis() > deadline {
                // The loader is slow or gone: answer from the documents, fill nothing.
                return Ok(Lookup {
                    profile: self.load(id)?,
                    cache: CacheStatus::Miss,
                });
            }
            self.clock.sleep(POLL_EVERY);
        }
    }

    fn load_and_fill(&self, id: DoctorId, token: &str) -> Result<Lookup, ReadError> {
        let lock_key = id.lock_key();
        let profile = match self.load(id) {
            Ok(profile) => profile,
            Err(err) => {
                // Let the next request try at once rather than wait out the lock.
                let _ = self.redis.delete_if_equals(&lock_key, token.as_bytes());
                return Err(ReadError::Api(err));
            }
        };
        let (key, value, ttl) = match &profile {
            Some(json) => (id.cache_key(), json.clone(), PROFILE_TTL_SECS),
            None => (id.missing_key(), b"1".to_vec(), MISSING_TTL_SECS),
        };
        let filled = self.redis.eval_int(
            FILL_IF_LOCKED,
            &[&lock_key, &key],
            &[token.into(), value.as_slice().into(), ttl.into()],
        );
        if let Err(err) = filled {
            eprintln!("cache fill failed: {err}");
        }
        Ok(Lookup {
            profile,
            cache: CacheStatus::Miss,
        })
    }

    /// Reads the profile from the documents.
    fn load(&self, id: DoctorId) -> Result<Option<Vec<u8>>, ApiError> {
        let Some(document) = self.docs.find_one(COLLECTION, id.filter(), None)? else {
            return Ok(None);
        };
        let profile = DoctorProfile::from_document(&document)?;
        serde_json::to_vec(&profile)
            .map(Some)
            .map_err(|err| ApiError::Internal(err.to_string()))
    }
}

/// A hit in `[profile, missing, ..]` as read by `MGET`.
fn cached(found: &[Option<Vec<u8>>]) -> Option<Lookup> {
    let profile = match found {
        [Some(profile), ..] => Some(profile.clone()),
        [None, Some(_), ..] => None,
        _ => return None,
    };
    Some(Lookup {
        profile,
        cache: CacheStatus::Hit,
    })
}

/// Forgets everything cached about a doctor, and any load in flight, so the
/// next read sees the documents. Writers call it before and after writing.
pub fn invalidate(redis: &dyn Redis, id: DoctorId) -> Result<(), ApiError> {
    redis
        .del(&[&id.cache_key(), &id.missing_key(), &id.lock_key()])
        .map(|_| ())
        .map_err(|err| ApiError::StoreUnavailable {
            store: "cache",
            detail: err.to_string(),
        })
}

enum ReadError {
    Redis(RedisError),
    Api(ApiError),
}

impl From<RedisError> for ReadError {
    fn from(err: RedisError) -> Self {
        ReadError::Redis(err)
    }
}

impl From<ApiError> for ReadError {
    fn from(err: ApiError) -> Self {
        ReadError::Api(err)
    }
}
