//! `/doctors`: cached profile reads for everyone, writes for admins.
//!
//! | method | path           | what                                    |
//! |--------|----------------|-----------------------------------------|
//! | GET    | /doctors/:id   | profile, cache-aside (`X-Cache`, ETag)  |
//! | GET    | /doctors       | list from the documents, paginated      |
//! | POST   | /doctors       | create (admin)                          |
//! | PUT    | /doctors/:id   | replace (admin), invalidates the cache  |
//! | PATCH  | /doctors/:id   | change some fields (admin), invalidates |

use bson::{doc, Bson, Document};
use http::{header, HeaderValue, Method, StatusCode};

use super::{json_body, query_pairs, segments, HttpRequest};
use crate::auth::require_admin;
use crate::data_api::{DataApi, FindOptions};
use crate::doctor::{DoctorId, DoctorInput, DoctorPatch, DoctorProfile, COLLECTION, SERVICES};
use crate::doctor_cache::{invalidate, DoctorCache, Lookup};
use crate::ports::{Clock, IdSource, Redis};
use crate::reply::{self, Reply};
use crate::settings::SettingError;
use crate::ApiError;

pub const DEFAULT_PAGE: i64 = 20;
pub const MAX_PAGE: i64 = 100;

pub struct Doctors<'a> {
    pub redis: &'a dyn Redis,
    pub docs: &'a DataApi,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn IdSource,
    pub admin_token: Result<String, SettingError>,
}

impl Doctors<'_> {
    pub fn handle(&self, request: &HttpRequest) -> Reply {
        reply::from_result(self.route(request))
    }

    fn route(&self, request: &HttpRequest) -> Result<Reply, ApiError> {
        let method = request.method();
        match segments(request).as_slice() {
            ["doctors"] if method == Method::GET => self.list(request),
            ["doctors"] if method == Method::POST => self.create(request),
            ["doctors", id] => {
                let id = DoctorId::parse(id)?;
                match *method {
                    Method::GET | Method::HEAD => self.get(request, id),
                    Method::PUT => self.replace(request, id),
                    Method::PATCH => self.patch(request, id),
                    _ => Err(ApiError::MethodNotAllowed),
                }
            }
            ["doctors"] => Err(ApiError::MethodNotAllowed),
            _ => Err(ApiError::NotFound("no such route".into())),
        }
    }

    fn get(&self, request: &HttpRequest, id: DoctorId) -> Result<Reply, ApiError> {
        let cache = DoctorCache {
            redis: self.redis,
            docs: self.docs,
            clock: self.clock,
            ids: self.ids,
        };
        let Lookup { profile, cache } = cache.read(id)?;
        let mut reply = match profile {
            Some(body) => with_etag(request, body),
            None => reply::error(&ApiError::NotFound(format!("no doctor with id {id}"))),
        };
        reply
            .headers_mut()
            .insert("x-cache", HeaderValue::from_static(cache.as_str()));
        Ok(reply)
    }

    fn list(&self, request: &HttpRequest) -> Result<Reply, ApiError> {
        let page = Page::from_query(&query_pairs(request))?;
        let mut filter = Document::new();
        if let Some(specialty) = &page.specialty {
            filter.insert("specialty", specialty.as_str());
        }
        // One more than asked tells whether a next page exists.
        let mut found = self.docs.find(
            COLLECTION,
            FindOptions {
                filter,
                sort: Some(doc! { "name": 1, "_id": 1 }),
                skip: Some(page.offset),
                limit: Some(page.limit + 1),
                ..Default::default()
            },
        )?;
        let has_more = found.len() as i64 > page.limit;
        found.truncate(page.limit as usize);
        let doctors = found
            .iter()
            .map(DoctorProfile::from_document)
            .collect::<Result<Vec<_>, _>>()?;
        let next = has_more.then(|| page.offset + page.limit);
        Ok(reply::json(
            StatusCode::OK,
            &serde_json::json!({
                "doctors": doctors,
                "limit": page.limit,
                "offset": page.offset,
                "nextOffset": next,
            }),
        ))
    }

    fn create(&self, request: &HttpRequest) -> Result<Reply, ApiError> {
        self.require_admin(request)?;
        let input: DoctorInput = json_body(request)?;
        let fields = input.into_fields()?;
        self.check_services(&fields)?;
        let id = DoctorId::new(self.ids.object_id());
        let mut document = doc! { "_id": id.oid() };
        document.extend(fields);
        self.docs.insert_one(COLLECTION, document.clone())?;
        let profile = DoctorProfile::from_document(&document)?;
        let mut reply = reply::json(StatusCode::CREATED, &json(&profile)?);
        if let Ok(location) = HeaderValue::from_str(&format!("/doctors/{id}")) {
            reply.headers_mut().insert(header::LOCATION, location);
        }
        Ok(reply)
    }

    fn replace(&self, request: &HttpRequest, id: DoctorId) -> Result<Reply, ApiError> {
        self.require_admin(request)?;
        let input: DoctorInput = json_body(request)?;
        let fields = input.into_fields()?;
        self.check_services(&fields)?;
        let mut replacement = doc! { "_id": id.oid() };
        replacement.extend(fields);
        self.write(id, || {
            let matched = self
                .docs
                .replace_one(COLLECTION, id.filter(), replacement.clone(), false)?
                .matched;
            Ok((matched > 0).then_some(replacement))
        })
    }

    fn patch(&self, request: &HttpRequest, id: DoctorId) -> Result<Reply, ApiError> {
        self.require_admin(request)?;
        let patch: DoctorPatch = json_body(request)?;
        let set = patch.into_set()?;
        self.check_services(&set)?;
        self.write(id, || {
            let update = doc! { "$set": set };
            if self
                .docs
                .update_one(COLLECTION, id.filter(), update, false)?
                .matched
                == 0
            {
                return Ok(None);
            }
            // The v1 API has no find-and-modify: read the merged document back.
            Ok(self.docs.find_one(COLLECTION, id.filter(), None)?)
        })
    }

    /// Runs a document write between two cache invalidations: the first
    /// refuses the write while Redis is down (a stale profile could otherwise
    /// outlive it for an hour), the second drops anything a concurrent read
    /// cached in between. `write` returns the document as now stored, or
    /// `None` when there is no such doctor; the reply is its profile.
    fn write(
        &self,
        id: DoctorId,
        write: impl FnOnce() -> Result<Option<Document>, ApiError>,
    ) -> Result<Reply, ApiError> {
        invalidate(self.redis, id)?;
        let stored = write()?;
        if let Err(err) = invalidate(self.redis, id) {
            eprintln!("second invalidation of {id} failed: {err:?}");
        }
        let document =
            stored.ok_or_else(|| ApiError::NotFound(format!("no doctor with id {id}")))?;
        let profile = DoctorProfile::from_document(&document)?;
        Ok(reply::json(StatusCode::OK, &json(&profile)?))
    }

    fn require_admin(&self, request: &HttpRequest) -> Result<(), ApiError> {
        require_admin(request.headers(), &self.admin_token)
    }

    /// Every service a doctor offers must exist in `services` (422 if not).
    fn check_services(&self, fields: &Document) -> Result<(), ApiError> {
        let Ok(codes) = fields.get_array("services") else {
            return Ok(());
        };
        if codes.is_empty() {
            return Ok(());
        }
        let found = self.docs.find(
            SERVICES,
            FindOptions {
                filter: doc! { "_id": { "$in": codes.clone() } },
                projection: Some(doc! { "_id": 1 }),
                limit: Some(codes.len() as i64),
                ..Default::default()
            },
        )?;
        let known: Vec<&Bson> = found.iter().filter_map(|d| d.get("_id")).collect();
        let unknown: Vec<&str> = codes
            .iter()
            .filter(|code| !known.contains(code))
            .filter_map(Bson::as_str)
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Unprocessable(format!(
                "unknown services: {}",
                unknown.join(", ")
            )))
        }
    }
}

/// `?limit=&offset=&specialty=` of the list, checked.
struct Page {
    limit: i64,
    offset: i64,
    specialty: Option<String>,
}

impl Page {
    fn from_query(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut page = Page {
            limit: DEFAULT_PAGE,
            offset: 0,
            specialty: None,
        };
        for (key, value) in pairs {
            match key.as_str() {
                "limit" => page.limit = number(key, value, 1, MAX_PAGE)?,
                "offset" => page.offset = number(key, value, 0, 1_000_000)?,
                "specialty" if (1..=80).contains(&value.chars().count()) => {
                    page.specialty = Some(value.clone())
                }
                "specialty" => {
                    return Err(ApiError::bad_request(
                        "invalid_query",
                        "specialty must be 1 to 80 characters",
                    ))
                }
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_query",
                        format!("unknown query parameter {key}; use limit, offset, specialty"),
                    ))
                }
            }
        }
        Ok(page)
    }
}

fn number(key: &str, value: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("{key} must be an integer from {min} to {max}"),
            )
        })
}

fn json(profile: &DoctorProfile) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(profile).map_err(|err| ApiError::Internal(err.to_string()))
}

/// A 200 with the profile, or a 304 when the caller already has this version.
/// Clients must revalidate (`no-cache`): admins can change a profile any time.
fn with_etag(request: &HttpRequest, body: Vec<u8>) -> Reply {
    let etag = format!("\"{:016x}\"", fnv1a(&body));
    let fresh = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut reply = if fresh {
        let mut not_modified = Reply::new(Vec::new());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        not_modified
    } else {
        reply::raw_json(StatusCode::OK, body)
    };
    let headers = reply.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    reply
}

/// FNV-1a, 64 bits: a cheap, stable fingerprint of the profile bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
