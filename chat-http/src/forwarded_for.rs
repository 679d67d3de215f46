//! The client address behind a trusted proxy, from `X-Forwarded-For`.
//!
//! Behind a proxy every connection comes from the proxy's address, so limits counted per
//! client address (logins, registrations) would count every user as one. A proxy the operator
//! trusts (`trusted_proxies`) appends the address it saw to `X-Forwarded-For`; the client is
//! the rightmost address in that list that is not itself a trusted proxy. Anything to its left
//! was written by the client and proves nothing. From a peer that is not trusted, the header
//! is ignored: any client can send it.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The header a proxy appends the address it saw to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The address limits should count `peer`'s request against: `peer` itself unless it is a
/// trusted proxy, else the nearest untrusted address the proxies recorded (the leftmost one
/// when every address is trusted). A malformed entry stops the walk there: what is left of it
/// cannot be told apart from what the client wrote.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let recorded: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for entry in recorded.iter().rev() {
        let Ok(address) = entry.trim().parse::<IpAddr>() else {
            break;
        };
        client = address;
        if !is_trusted(&address) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted() -> Vec<IpNet> {
        vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ]
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let found = client_address(ip("203.0.113.9"), &headers(&["198.51.100.1"]), &trusted());
        assert_eq!(found, ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_nearest_untrusted_address() {
        let chain = headers(&["192.0.2.66, 198.51.100.7", "10.1.2.3"]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &chain, &trusted()),
            ip("198.51.100.7"),
            "192.0.2.66 was written by the client and proves nothing"
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        assert_eq!(
            client_address(ip("127.0.0.1"), &HeaderMap::new(), &trusted()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_malformed_entry_stops_the_walk_at_the_last_good_address() {
        let chain = headers(&["198.51.100.7, not-an-address, 10.9.9.9"]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &chain, &trusted()),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn ipv6_addresses_and_ranges_work_alike() {
        let trusted = vec!["::1/128".parse().unwrap()];
        let chain = headers(&["2001:db8::5"]);
        assert_eq!(
            client_address(ip("::1"), &chain, &trusted),
            ip("2001:db8::5")
        );
    }
}
