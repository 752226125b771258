//! Versioned MySQL migrations: SQL files in `shared/migrations/`, applied in
//! order, each exactly once, recorded in `schema_migrations`.
//!
//! Concurrent runs serialise on a named MySQL lock (`GET_LOCK`), scoped to
//! the database. DDL commits implicitly in MySQL, so migrations are written
//! to be re-runnable (`IF NOT EXISTS`): a run that dies half-way is finished
//! by the next one.

use serde::Serialize;

use crate::ports::{Sql, SqlError, SqlValue};
use crate::ApiError;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in the order they apply. Append only.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "core_tables",
    sql: include_str!("../migrations/0001_core_tables.sql"),
}];

const LOCK_WAIT_SECS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationReport {
    /// Versions this run applied.
    pub applied: Vec<i64>,
    /// How many were already in place.
    pub already_applied: usize,
}

impl From<SqlError> for ApiError {
    fn from(err: SqlError) -> Self {
        match err {
            SqlError::Connect(_) => ApiError::StoreUnavailable {
                store: "mysql",
                detail: err.to_string(),
            },
            SqlError::Statement(_) | SqlError::Duplicate(_) => ApiError::Internal(err.to_string()),
        }
    }
}

pub fn migrate(sql: &dyn Sql) -> Result<MigrationReport, ApiError> {
    sql.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT NOT NULL PRIMARY KEY,
            name VARCHAR(200) NOT NULL,
            applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
        ) ENGINE=InnoDB",
        &[],
    )?;
    let locked = sql.query(
        "SELECT GET_LOCK(CONCAT('clinic-migrate:', DATABASE()), ?)",
        &[SqlValue::Int(LOCK_WAIT_SECS)],
    )?;
    if first_int(&locked.rows) != Some(1) {
        return Err(ApiError::Conflict(
            "another migration run holds the lock; try again".into(),
        ));
    }
    let outcome = apply_pending(sql);
    let released = sql.query(
        "SELECT RELEASE_LOCK(CONCAT('clinic-migrate:', DATABASE()))",
        &[],
    );
    let report = outcome?;
    released?;
    Ok(report)
}

fn apply_pending(sql: &dyn Sql) -> Result<MigrationReport, ApiError> {
    let done: Vec<i64> = sql
        .query("SELECT version FROM schema_migrations", &[])?
        .rows
        .iter()
        .filter_map(|row| row.first().and_then(SqlValue::as_i64))
        .collect();
    let mut report = MigrationReport {
        applied: Vec::new(),
        already_applied: 0,
    };
    for migration in MIGRATIONS {
        if done.contains(&migration.version) {
            report.already_applied += 1;
            continue;
        }
        for statement in statements(migration.sql) {
            sql.execute(&statement, &[])?;
        }
        sql.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
            &[migration.version.into(), migration.name.into()],
        )?;
        report.applied.push(migration.version);
    }
    Ok(report)
}

/// Splits a migration file into statements: `--` comment lines dropped,
/// blocks ending in `;`.
fn statements(file: &str) -> Vec<String> {
    let without_comments: String = file
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn first_int(rows: &[Vec<SqlValue>]) -> Option<i64> {
    rows.first()?.first()?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_strictly_increase() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    }

    #[test]
    fn files_split_into_statements() {
        let parts = statements(
            "-- a comment; with a semicolon\nCREATE TABLE a (x INT);\n\nCREATE TABLE b (y INT);\n",
        );
        assert_eq!(
            parts,
            vec!["CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"]
        );
        assert_eq!(statements(MIGRATIONS[0].sql).len(), 3);
    }
}
