//! API keys: accepted from the `apiKey` header (the hosted API's), `api-key`
//! (its beta spelling) or `Authorization: Bearer <key>`.

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct ApiKeys(Vec<Vec<u8>>);

impl ApiKeys {
    /// Splits a comma-separated list, ignoring blanks. `None` when no key is left.
    pub fn from_list(list: &str) -> Option<ApiKeys> {
        let keys: Vec<Vec<u8>> = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().to_vec())
            .collect();
        (!keys.is_empty()).then_some(ApiKeys(keys))
    }

    /// Compares against every configured key in constant time per key, and
    /// without stopping at a match, so timing reveals neither the key nor
    /// which key matched (only, as with any such compare, its length).
    pub fn accepts(&self, candidate: &[u8]) -> bool {
        let mut ok = subtle::Choice::from(0);
        for key in &self.0 {
            ok |= key.as_slice().ct_eq(candidate);
        }
        ok.into()
    }

    pub fn authorizes(&self, headers: &HeaderMap) -> bool {
        presented_keys(headers).any(|key| self.accepts(key))
    }
}

fn presented_keys(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    let direct = ["apikey", "api-key"]
        .into_iter()
        .flat_map(|name| headers.get_all(name).iter())
        .map(|v| v.as_bytes());
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().as_bytes())
        });
    direct.chain(bearer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn keys_from_headers() {
        let keys = ApiKeys::from_list(" k1 , ,k2").expect("two keys");
        assert!(keys.accepts(b"k2"));
        assert!(!keys.accepts(b"k3"));
        assert!(!keys.accepts(b""));

        let mut headers = HeaderMap::new();
        assert!(!keys.authorizes(&headers));
        headers.insert("apiKey", HeaderValue::from_static("k1"));
        assert!(keys.authorizes(&headers));

        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k2"));
        assert!(keys.authorizes(&headers));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic k2"));
        assert!(!keys.authorizes(&headers));
        assert!(ApiKeys::from_list(" , ").is_none());
    }
}
