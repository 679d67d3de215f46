//! Cross-site request forgery guard: a REST write that the browser authenticated by itself,
//! with the session cookie, must come from the server's own origin or an allowed one.
//!
//! `SameSite=Lax` does not stop a page of the same site (another port, a sibling subdomain)
//! from posting; its `Origin` (else its `Referer`) gives it away. Clients that send their
//! token in a header (the old client, apps) chose to, so they are not checked; nor are
//! requests with neither header, which no browser sends on a cross-origin write.

use axum::extract::{Request, State};
use axum::http::header::{ORIGIN, REFERER};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{TokenSource, find_token};
use crate::error::ApiError;
use crate::scheme::Origin;
use crate::state::{AppState, HttpConfig};

/// Middleware: refuses with 403 a cookie-authenticated write from a foreign origin.
pub async fn guard_cookie_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let write = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let by_cookie = matches!(
        find_token(request.headers(), None),
        Some((_, TokenSource::Cookie))
    );
    let own = Origin::of(request.headers(), request.extensions(), &state.config);
    if write
        && by_cookie
        && let Some(origin) = request_origin(request.headers())
        && !trusted(&origin, &own, &state.config)
    {
        let refused = chat_core::Error::Forbidden("cross-origin request refused".into());
        return ApiError::Core(refused).into_response();
    }
    next.run(request).await
}

/// Where a browser request comes from: its `Origin`, else the origin of its `Referer`.
pub fn request_origin(headers: &HeaderMap) -> Option<String> {
    let header = |name| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(origin) = header(ORIGIN) {
        return Some(origin.to_owned());
    }
    let referer = header(REFERER)?;
    let (scheme, rest) = referer.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    Some(format!("{scheme}://{authority}"))
}

/// Whether `origin` is one configured, or the server's own (`own`: the request's host, and
/// its scheme when known).
pub fn trusted(origin: &str, own: &Origin, config: &HttpConfig) -> bool {
    config
        .allowed_origins
        .iter()
        .any(|allowed| allowed == origin)
        || own.is_own(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_referer_gives_the_origin_when_origin_is_absent() {
        let mut headers = HeaderMap::new();
        headers.insert(
            REFERER,
            "https://chat.example:8443/rooms?x=1".parse().unwrap(),
        );
        assert_eq!(
            request_origin(&headers).as_deref(),
            Some("https://chat.example:8443")
        );
        headers.insert(ORIGIN, "http://other.example".parse().unwrap());
        assert_eq!(
            request_origin(&headers).as_deref(),
            Some("http://other.example")
        );
    }

    #[test]
    fn own_host_and_configured_origins_are_trusted() {
        let config = HttpConfig::default();
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::HOST, "localhost:9010".parse().unwrap());
        let own = Origin::of(&headers, &axum::http::Extensions::new(), &config);
        assert!(trusted("http://localhost:9010", &own, &config));
        assert!(trusted("http://localhost:5173", &own, &config));
        assert!(!trusted("http://localhost:9011", &own, &config));
        assert!(!trusted("null", &own, &config));
    }
}
