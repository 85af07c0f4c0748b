//! Cross-site request forgery protection by origin checks (the OWASP
//! "verifying origin with standard headers" defence), on top of
//! `SameSite=Lax` cookies. Bearer-token requests carry no ambient
//! authority and pass untouched.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;

pub async fn protect(request: Request, next: Next) -> Response {
    if is_safe(request.method()) || request.headers().contains_key(header::AUTHORIZATION) {
        return next.run(request).await;
    }
    match verdict(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            ApiError::Forbidden(format!("cross-site request refused: {reason}")).into_response()
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a mutation that a browser says came from another site, and a
/// cookie-carrying one whose origin cannot be established.
pub(crate) fn verdict(headers: &HeaderMap) -> Result<(), &'static str> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site")
    {
        return Err("the browser reports a cross-site request");
    }
    let host = text(header::HOST).ok_or("no Host header")?;
    let claimed = text(header::ORIGIN)
        .filter(|o| *o != "null")
        .or_else(|| text(header::REFERER));
    match claimed {
        Some(origin) if host_of(origin) == Some(host) => Ok(()),
        Some(_) => Err("its origin is another site"),
        None if headers.contains_key(header::COOKIE) => Err("its origin is unknown"),
        None => Ok(()),
    }
}

/// `https://example.com:8443/path` → `example.com:8443`.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn same_origin_mutations_pass() {
        let h = headers(&[
            ("host", "hotswap.local:3000"),
            ("origin", "http://hotswap.local:3000"),
            ("cookie", "s=1"),
        ]);
        assert_eq!(verdict(&h), Ok(()));
        let h = headers(&[
            ("host", "h:1"),
            ("referer", "http://h:1/admin?x=1"),
            ("cookie", "s=1"),
        ]);
        assert_eq!(verdict(&h), Ok(()));
    }

    #[test]
    fn cross_site_mutations_are_refused() {
        let h = headers(&[
            ("host", "h:1"),
            ("origin", "https://evil.example"),
            ("cookie", "s=1"),
        ]);
        assert!(verdict(&h).is_err());
        let h = headers(&[
            ("host", "h:1"),
            ("origin", "http://h:1"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(verdict(&h).is_err());
        let h = headers(&[("host", "h:1"), ("cookie", "s=1")]);
        assert!(
            verdict(&h).is_err(),
            "cookies without an origin are refused"
        );
    }

    #[test]
    fn cookieless_clients_without_an_origin_pass() {
        assert_eq!(verdict(&headers(&[("host", "h:1")])), Ok(()));
    }
}
