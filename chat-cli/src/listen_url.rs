//! The URL a person opens to reach a server bound to some address.

use std::net::{IpAddr, SocketAddr};

/// `http://localhost:PORT/` for a wildcard bind (`0.0.0.0`, `::`), else the bound address;
/// `https` when the port speaks TLS.
pub fn open_url(address: SocketAddr, tls: bool) -> String {
    let port = address.port();
    let scheme = if tls { "https" } else { "http" };
    match address.ip() {
        ip if ip.is_unspecified() => format!("{scheme}://localhost:{port}/"),
        IpAddr::V4(ip) => format!("{scheme}://{ip}:{port}/"),
        IpAddr::V6(ip) => format!("{scheme}://[{ip}]:{port}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::open_url;

    #[test]
    fn wildcard_binds_open_on_localhost_and_others_on_their_address() {
        let cases = [
            ("0.0.0.0:9010", "http://localhost:9010/"),
            ("[::]:9010", "http://localhost:9010/"),
            ("127.0.0.1:8080", "http://127.0.0.1:8080/"),
            ("10.1.2.3:80", "http://10.1.2.3:80/"),
            ("[::1]:9010", "http://[::1]:9010/"),
        ];
        for (bind, url) in cases {
            assert_eq!(open_url(bind.parse().unwrap(), false), url, "{bind}");
        }
        assert_eq!(
            open_url("0.0.0.0:443".parse().unwrap(), true),
            "https://localhost:443/"
        );
    }
}
