//! Tokens never reach the logs: request spans carry the URI with `token` query values
//! replaced (sockets may authenticate with `?token=`).

use std::borrow::Cow;

use axum::extract::Request;
use axum::http::Uri;
use tracing::Span;

/// Query parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &["token", "access_token"];

/// The span of one request, as tower-http's default one but with a redacted URI.
pub fn request_span(request: &Request) -> Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %redacted_uri(request.uri()),
        version = ?request.version(),
    )
}

/// `uri` with the values of secret query parameters replaced by `REDACTED`.
pub fn redacted_uri(uri: &Uri) -> Cow<'_, str> {
    let Some(query) = uri.query() else {
        return Cow::Borrowed(uri.path());
    };
    let query: Vec<Cow<str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => Cow::Owned(format!("{name}=REDACTED")),
            _ => Cow::Borrowed(pair),
        })
        .collect();
    Cow::Owned(format!("{}?{}", uri.path(), query.join("&")))
}

fn is_secret(name: &str) -> bool {
    SECRET_PARAMS
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_values_are_replaced_and_the_rest_kept() {
        let uri: Uri = "/ws/abc?x=1&token=eyJ.secret&TOKEN=again&y"
            .parse()
            .unwrap();
        assert_eq!(
            redacted_uri(&uri),
            "/ws/abc?x=1&token=REDACTED&TOKEN=REDACTED&y"
        );
        let plain: Uri = "/api/me".parse().unwrap();
        assert_eq!(redacted_uri(&plain), "/api/me");
    }
}
