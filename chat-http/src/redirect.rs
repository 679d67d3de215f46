//! The plain-HTTP port of a TLS server (`--redirect-http`): every request is answered with a
//! permanent redirect to the same path and query on the HTTPS port, so a browser that typed
//! `http://chat.example` lands on the server.

use axum::Router;
use axum::http::header::{HOST, LOCATION};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// The router of the redirecting port; `https_port` is the main (TLS) port.
pub(crate) fn router(https_port: u16) -> Router {
    Router::new().fallback(move |headers: HeaderMap, uri: Uri| async move {
        redirect(&headers, &uri, https_port)
    })
}

/// 308 (method and body kept) to `https://{host}{path}`; 400 without a usable `Host`.
fn redirect(headers: &HeaderMap, uri: &Uri, https_port: u16) -> Response {
    let Some(host) = headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .and_then(host_name)
    else {
        return (StatusCode::BAD_REQUEST, "a Host header is required").into_response();
    };
    let authority = match https_port {
        443 => host.to_owned(),
        port => format!("{host}:{port}"),
    };
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    (
        StatusCode::PERMANENT_REDIRECT,
        [(LOCATION, format!("https://{authority}{path}"))],
    )
        .into_response()
}

/// The host of a `Host` header without its port (`[::1]:80` → `[::1]`); `None` if it holds
/// anything a URL's host cannot.
fn host_name(host: &str) -> Option<&str> {
    let name = if host.starts_with('[') {
        &host[..=host.find(']')?]
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(host: &str, uri: &str, port: u16) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, host.parse().unwrap());
        let response = redirect(&headers, &uri.parse().unwrap(), port);
        response
            .headers()
            .get(LOCATION)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    #[test]
    fn redirects_keep_path_and_query_and_name_the_tls_port() {
        assert_eq!(
            location("chat.example", "/api/me?x=1", 443).as_deref(),
            Some("https://chat.example/api/me?x=1")
        );
        assert_eq!(
            location("chat.example:8080", "/", 8443).as_deref(),
            Some("https://chat.example:8443/")
        );
        assert_eq!(
            location("[::1]:80", "/ws/1", 9443).as_deref(),
            Some("https://[::1]:9443/ws/1")
        );
        assert_eq!(location("evil.example/x", "/", 443), None);
    }
}
