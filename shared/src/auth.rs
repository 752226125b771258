//! Bearer-token checks for the admin routes.

use http::{header, HeaderMap};

use crate::settings::SettingError;
use crate::ApiError;

/// Checks the admin bearer token; a missing or invalid `admin_token`
/// setting refuses every admin request (naming the setting), never opens them.
pub fn require_admin(
    headers: &HeaderMap,
    admin_token: &Result<String, SettingError>,
) -> Result<(), ApiError> {
    let expected = admin_token
        .as_ref()
        .map_err(|err| ApiError::from(err.clone()))?;
    require_bearer(headers, expected)
}

/// Accepts `Authorization: Bearer <token>` when it equals `expected`.
/// The comparison takes the same time wherever the first difference is.
pub fn require_bearer(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    if constant_time_eq(presented.trim().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // The length is not secret; the content is.
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn accepts_only_the_exact_token() {
        let token = "0123456789abcdef";
        assert!(require_bearer(&headers("Bearer 0123456789abcdef"), token).is_ok());
        assert!(require_bearer(&headers("Bearer 0123456789abcdeF"), token).is_err());
        assert!(require_bearer(&headers("Bearer 0123456789abcde"), token).is_err());
        assert!(require_bearer(&headers("0123456789abcdef"), token).is_err());
        assert!(require_bearer(&HeaderMap::new(), token).is_err());
    }
}
