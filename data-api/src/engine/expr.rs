//! The small subset of aggregation expressions the engine evaluates: field
//! references (`"$a.b"`), literals (`{$literal: v}` or plain constants), and
//! documents/arrays built from those. Operator expressions are refused.

use bson::{Bson, Document};

use super::value::{expression_path_value, split_path};
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub enum Expr {
    Field(Vec<String>),
    Literal(Bson),
    Document(Vec<(String, Expr)>),
    Array(Vec<Expr>),
}

impl Expr {
    pub fn parse(value: &Bson) -> Result<Expr, ApiError> {
        match value {
            Bson::String(s) if s.starts_with("$$") => {
                Err(ApiError::unsupported("expression variable", s.as_str()))
            }
            Bson::String(s) if s.starts_with('$') => {
                let path = split_path(&s[1..]).ok_or_else(|| {
                    ApiError::invalid(format!("invalid field path '{s}' in expression"))
                })?;
                Ok(Expr::Field(path.into_iter().map(str::to_owned).collect()))
            }
            Bson::Document(doc) => match doc.keys().next() {
                Some(op) if op.starts_with('$') => {
                    if op == "$literal" && doc.len() == 1 {
                        Ok(Expr::Literal(doc.get(op).cloned().unwrap_or(Bson::Null)))
                    } else {
                        Err(ApiError::unsupported("expression operator", op.as_str()))
                    }
                }
                _ => doc
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), Expr::parse(v)?)))
                    .collect::<Result<_, ApiError>>()
                    .map(Expr::Document),
            },
            Bson::Array(items) => items
                .iter()
                .map(Expr::parse)
                .collect::<Result<_, _>>()
                .map(Expr::Array),
            other => Ok(Expr::Literal(other.clone())),
        }
    }

    /// `None` when a referenced field is missing; missing fields are left out
    /// of built documents and become null inside arrays, as in MongoDB.
    pub fn eval(&self, doc: &Document) -> Option<Bson> {
        match self {
            Expr::Field(path) => {
                let parts: Vec<&str> = path.iter().map(String::as_str).collect();
                expression_path_value(doc, &parts)
            }
            Expr::Literal(value) => Some(value.clone()),
            Expr::Document(fields) => {
                let mut out = Document::new();
                for (key, expr) in fields {
                    if let Some(value) = expr.eval(doc) {
                        out.insert(key.clone(), value);
                    }
                }
                Some(Bson::Document(out))
            }
            Expr::Array(items) => Some(Bson::Array(
                items
                    .iter()
                    .map(|e| e.eval(doc).unwrap_or(Bson::Null))
                    .collect(),
            )),
        }
    }
}
