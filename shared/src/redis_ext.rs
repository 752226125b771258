//! Typed helpers for the few Redis commands the flows use, over [`Redis::execute`].

use crate::ports::{Redis, RedisArg, RedisError, RedisValue};

/// Deletes a key only when it still holds `token`, so a lock holder whose
/// lease expired cannot release a lock someone else now holds.
const COMPARE_AND_DELETE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

pub trait RedisExt {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RedisError>;
    /// `MGET`: one round trip for several keys, `None` where a key is absent.
    fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, RedisError>;
    /// `SET key value EX seconds`.
    fn set_ex(&self, key: &str, value: &[u8], seconds: i64) -> Result<(), RedisError>;
    /// `SET key value NX PX millis`: true when this caller set it.
    fn set_nx_px(&self, key: &str, value: &[u8], millis: i64) -> Result<bool, RedisError>;
    fn del(&self, keys: &[&str]) -> Result<i64, RedisError>;
    fn delete_if_equals(&self, key: &str, token: &[u8]) -> Result<bool, RedisError>;
    /// `EVAL script numkeys keys... args...` for a script that returns an integer.
    fn eval_int(&self, script: &str, keys: &[&str], args: &[RedisArg]) -> Result<i64, RedisError>;
    fn ttl(&self, key: &str) -> Result<i64, RedisError>;
    fn ping(&self) -> Result<(), RedisError>;
}

impl<R: Redis + ?Sized> RedisExt for R {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RedisError> {
        let reply = self.execute("GET", &[key.into()])?;
        Ok(match reply.into_iter().next() {
            Some(RedisValue::Bytes(bytes)) => Some(bytes),
            Some(RedisValue::Status(text)) => Some(text.into_bytes()),
            _ => None,
        })
    }

    fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, RedisError> {
        let args: Vec<RedisArg> = keys.iter().map(|k| (*k).into()).collect();
        let reply = self.execute("MGET", &args)?;
        if reply.len() != keys.len() {
            return Err(RedisError::Command(format!(
                "MGET returned {} values for {} keys",
                reply.len(),
                keys.len()
            )));
        }
        Ok(reply
            .into_iter()
            .map(|value| match value {
                RedisValue::Bytes(bytes) => Some(bytes),
                _ => None,
            })
            .collect())
    }

    fn set_ex(&self, key: &str, value: &[u8], seconds: i64) -> Result<(), RedisError> {
        self.execute(
            "SET",
            &[key.into(), value.into(), "EX".into(), seconds.into()],
        )?;
        Ok(())
    }

    fn set_nx_px(&self, key: &str, value: &[u8], millis: i64) -> Result<bool, RedisError> {
        let reply = self.execute(
            "SET",
            &[
                key.into(),
                value.into(),
                "NX".into(),
                "PX".into(),
                millis.into(),
            ],
        )?;
        Ok(
            matches!(reply.first(), Some(RedisValue::Status(s)) if s == "OK")
                || matches!(reply.first(), Some(RedisValue::Bytes(b)) if b == b"OK"),
        )
    }

    fn del(&self, keys: &[&str]) -> Result<i64, RedisError> {
        let args: Vec<RedisArg> = keys.iter().map(|k| (*k).into()).collect();
        integer(self.execute("DEL", &args)?)
    }

    fn delete_if_equals(&self, key: &str, token: &[u8]) -> Result<bool, RedisError> {
        Ok(self.eval_int(COMPARE_AND_DELETE, &[key], &[token.into()])? == 1)
    }

    fn eval_int(&self, script: &str, keys: &[&str], args: &[RedisArg]) -> Result<i64, RedisError> {
        let mut all: Vec<RedisArg> = vec![script.into(), (keys.len() as i64).into()];
        all.extend(keys.iter().map(|k| RedisArg::from(*k)));
        all.extend(args.iter().cloned());
        integer(self.execute("EVAL", &all)?)
    }

    fn ttl(&self, key: &str) -> Result<i64, RedisError> {
        integer(self.execute("TTL", &[key.into()])?)
    }

    fn ping(&self) -> Result<(), RedisError> {
        self.execute("PING", &[])?;
        Ok(())
    }
}

fn integer(reply: Vec<RedisValue>) -> Result<i64, RedisError> {
    match reply.first() {
        Some(RedisValue::Int(i)) => Ok(*i),
        other => Err(RedisError::Command(format!(
            "expected an integer reply, got {other:?}"
        ))),
    }
}
