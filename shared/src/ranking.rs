//! The doctors ranked by booked appointments, and its repair.
//!
//! Redis's `ranking:doctores` sorted set is the fast path. The documents are
//! the truth: when Redis is down the ranking is computed from `appointments`
//! instead, and [`rebuild`] rewrites the sorted set from them.

use bson::{doc, oid::ObjectId, Bson, Document};
use serde::Serialize;

use crate::appointment::COLLECTION as APPOINTMENTS;
use crate::booking::{RANKING_KEY, REMINDER_CHANNEL, REMINDER_QUEUE};
use crate::data_api::{DataApi, FindOptions};
use crate::doctor::COLLECTION as DOCTORS;
use crate::ports::{IdSource, Redis, RedisArg, RedisValue};
use crate::ApiError;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankingEntry {
    pub doctor_id: String,
    pub name: Option<String>,
    pub specialty: Option<String>,
    pub appointments: i64,
}

/// Where a ranking was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Redis,
    Documents,
}

/// The top `limit` doctors, with names.
pub fn top(
    redis: &dyn Redis,
    docs: &DataApi,
    limit: i64,
) -> Result<(Vec<RankingEntry>, Source), ApiError> {
    let (counts, source) = match from_redis(redis, limit) {
        Ok(counts) => (counts, Source::Redis),
        Err(err) => {
            eprintln!("ranking from documents, Redis failed: {err}");
            (from_documents(docs, Some(limit))?, Source::Documents)
        }
    };
    Ok((with_names(docs, counts)?, source))
}

/// Rewrites `ranking:doctores` from the appointment documents, atomically
/// (`RENAME` of a freshly built key), and re-queues the reminders of
/// appointments booked while Redis was down. Returns (doctors, re-queued).
pub fn repair(
    redis: &dyn Redis,
    docs: &DataApi,
    ids: &dyn IdSource,
) -> Result<(usize, usize), ApiError> {
    let counts = from_documents(docs, None)?;
    let scratch = format!("{RANKING_KEY}:rebuild:{}", ids.token());
    let redis_err = |err: crate::ports::RedisError| ApiError::StoreUnavailable {
        store: "cache",
        detail: err.to_string(),
    };
    if counts.is_empty() {
        redis
            .execute("DEL", &[RANKING_KEY.into()])
            .map_err(redis_err)?;
    } else {
        let mut args: Vec<RedisArg> = vec![scratch.as_str().into()];
        for (doctor, count) in &counts {
            args.push(count.to_string().into());
            args.push(doctor.as_str().into());
        }
        redis.execute("ZADD", &args).map_err(redis_err)?;
        redis
            .execute("RENAME", &[scratch.as_str().into(), RANKING_KEY.into()])
            .map_err(redis_err)?;
    }

    let pending = docs.find(
        APPOINTMENTS,
        FindOptions {
            filter: doc! { "reminderQueued": false },
            projection: Some(doc! { "_id": 1 }),
            limit: Some(10_000),
            ..Default::default()
        },
    )?;
    for appointment in &pending {
        let Ok(id) = appointment.get_object_id("_id") else {
            continue;
        };
        let id = id.to_hex();
        redis
            .execute("LPUSH", &[REMINDER_QUEUE.into(), id.as_str().into()])
            .map_err(redis_err)?;
        redis
            .execute("PUBLISH", &[REMINDER_CHANNEL.into(), id.as_str().into()])
            .map_err(redis_err)?;
        docs.update_one(
            APPOINTMENTS,
            doc! { "_id": appointment.get("_id").cloned().unwrap_or(Bson::Null) },
            doc! { "$unset": { "reminderQueued": "" } },
            false,
        )?;
    }
    Ok((counts.len(), pending.len()))
}

fn from_redis(
    redis: &dyn Redis,
    limit: i64,
) -> Result<Vec<(String, i64)>, crate::ports::RedisError> {
    let flat = redis.execute(
        "ZREVRANGE",
        &[
            RANKING_KEY.into(),
            0.into(),
            (limit - 1).into(),
            "WITHSCORES".into(),
        ],
    )?;
    Ok(flat
        .chunks(2)
        .filter_map(|pair| match pair {
            [RedisValue::Bytes(member), score] => {
                let score = match score {
                    RedisValue::Bytes(b) => std::str::from_utf8(b).ok()?.parse::<f64>().ok()?,
                    RedisValue::Int(i) => *i as f64,
                    _ => return None,
                };
                Some((String::from_utf8(member.clone()).ok()?, score as i64))
            }
            _ => None,
        })
        .collect())
}

fn from_documents(docs: &DataApi, limit: Option<i64>) -> Result<Vec<(String, i64)>, ApiError> {
    let mut pipeline = vec![
        doc! { "$match": { "status": "booked" } },
        doc! { "$group": { "_id": "$doctorId", "appointments": { "$sum": 1 } } },
        doc! { "$sort": { "appointments": -1, "_id": 1 } },
    ];
    if let Some(limit) = limit {
        pipeline.push(doc! { "$limit": limit });
    }
    Ok(docs
        .aggregate(APPOINTMENTS, pipeline)?
        .iter()
        .filter_map(|group| {
            let id = group.get_object_id("_id").ok()?.to_hex();
            Some((id, integer(group.get("appointments")?)?))
        })
        .collect())
}

fn with_names(docs: &DataApi, counts: Vec<(String, i64)>) -> Result<Vec<RankingEntry>, ApiError> {
    let ids: Vec<ObjectId> = counts
        .iter()
        .filter_map(|(id, _)| ObjectId::parse_str(id).ok())
        .collect();
    let found = if ids.is_empty() {
        Vec::new()
    } else {
        docs.find(
            DOCTORS,
            FindOptions {
                filter: doc! { "_id": { "$in": ids.clone() } },
                projection: Some(doc! { "name": 1, "specialty": 1 }),
                limit: Some(ids.len() as i64),
                ..Default::default()
            },
        )?
    };
    let named = |id: &str| -> Option<&Document> {
        found
            .iter()
            .find(|d| d.get_object_id("_id").is_ok_and(|oid| oid.to_hex() == id))
    };
    Ok(counts
        .into_iter()
        .map(|(doctor_id, appointments)| {
            let doctor = named(&doctor_id);
            RankingEntry {
                name: doctor
                    .and_then(|d| d.get_str("name").ok())
                    .map(str::to_owned),
                specialty: doctor
                    .and_then(|d| d.get_str("specialty").ok())
                    .map(str::to_owned),
                doctor_id,
                appointments,
            }
        })
        .collect())
}

fn integer(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}
