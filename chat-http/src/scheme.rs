//! Whether the browser reached us over HTTPS, and under which host: our own TLS says so for
//! itself; behind a proxy that terminates TLS (nginx, Caddy), its `X-Forwarded-Proto` and
//! `X-Forwarded-Host` say so, but only when the operator trusts the proxy
//! (`trust_forwarded_proto`), since any client can send those headers.
//!
//! The answer decides the session cookie's `Secure` flag and the server's own origin in the
//! origin checks of cookie-authenticated requests.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};

use crate::state::{AppState, HttpConfig};

/// How the connection under a request was made; the accept loop puts it in every request's
/// extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// The connection is our own TLS.
    pub tls: bool,
}

/// The header a trusted proxy names the client's scheme in.
pub const FORWARDED_PROTO: &str = "x-forwarded-proto";
/// The header a trusted proxy names the host the client asked for in.
pub const FORWARDED_HOST: &str = "x-forwarded-host";

/// Where a request came from, as far as the server can know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `Some("https")` or `Some("http")` when known (our TLS, or a trusted proxy's word);
    /// `None` for plain HTTP with no trusted proxy, where a TLS-terminating proxy may or may
    /// not be in front.
    pub scheme: Option<&'static str>,
    /// The host (and port) the client asked for.
    pub host: Option<String>,
}

impl Origin {
    /// Reads the request's transport and, when trusted, its forwarding headers.
    pub fn of(headers: &HeaderMap, extensions: &Extensions, config: &HttpConfig) -> Origin {
        let first = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.split(',').next())
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        let tls = extensions.get::<Transport>().is_some_and(|t| t.tls);
        let trusted = config.trust_forwarded_proto && !tls;
        let scheme = if tls {
            Some("https")
        } else if trusted {
            match first(FORWARDED_PROTO)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("https") | Some("wss") => Some("https"),
                Some("http") | Some("ws") => Some("http"),
                _ => None,
            }
        } else {
            None
        };
        let forwarded_host = if trusted { first(FORWARDED_HOST) } else { None };
        let host = forwarded_host
            .or_else(|| first(HOST.as_str()))
            .map(str::to_owned);
        Origin { scheme, host }
    }

    /// Whether the client used HTTPS, as far as is known.
    pub fn is_https(&self) -> bool {
        self.scheme == Some("https")
    }

    /// Whether a browser's `Origin` is this server itself: the same host, and the same
    /// scheme when the scheme is known (either when it is not).
    pub fn is_own(&self, origin: &str) -> bool {
        let Some(host) = &self.host else {
            return false;
        };
        let (scheme, rest) = match origin.split_once("://") {
            Some(parts) => parts,
            None => return false,
        };
        let scheme_fits = match self.scheme {
            Some(known) => scheme.eq_ignore_ascii_case(known),
            None => matches!(scheme, "http" | "https"),
        };
        scheme_fits && rest.eq_ignore_ascii_case(host)
    }
}

impl FromRequestParts<AppState> for Origin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Origin::of(&parts.headers, &parts.extensions, &state.config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(headers: &[(&str, &str)], tls: bool, trust: bool) -> Origin {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let mut extensions = Extensions::new();
        extensions.insert(Transport { tls });
        let config = HttpConfig {
            trust_forwarded_proto: trust,
            ..HttpConfig::default()
        };
        Origin::of(&map, &extensions, &config)
    }

    #[test]
    fn forwarded_headers_count_only_when_trusted() {
        let headers = [
            ("host", "10.0.0.5:9010"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "chat.example"),
        ];
        let untrusted = origin(&headers, false, false);
        assert_eq!(untrusted.scheme, None);
        assert_eq!(untrusted.host.as_deref(), Some("10.0.0.5:9010"));
        let trusted = origin(&headers, false, true);
        assert!(trusted.is_https());
        assert!(trusted.is_own("https://chat.example"));
        assert!(!trusted.is_own("http://chat.example"));
        assert!(!trusted.is_own("https://10.0.0.5:9010"));
    }

    #[test]
    fn own_tls_is_https_whatever_the_headers_say() {
        let ours = origin(
            &[("host", "chat.example"), ("x-forwarded-proto", "http")],
            true,
            true,
        );
        assert!(ours.is_https());
        assert!(ours.is_own("https://chat.example"));
        assert!(!ours.is_own("http://chat.example"));
    }

    #[test]
    fn an_unknown_scheme_accepts_either_on_the_own_host() {
        let plain = origin(&[("host", "localhost:9010")], false, false);
        assert!(!plain.is_https());
        assert!(plain.is_own("http://localhost:9010"));
        assert!(plain.is_own("https://localhost:9010"));
        assert!(!plain.is_own("http://localhost:9011"));
        assert!(!plain.is_own("null"));
    }
}
