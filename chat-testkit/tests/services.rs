//! The service guards against the real servers (`CHAT_TEST_REDIS_SERVER_BIN`,
//! `CHAT_TEST_FERRETDB_BIN`): each listens once started, stops answering when frozen or
//! killed, and comes back on the same port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use chat_testkit::Service;

/// Whether the Redis on `port` answers `PING` within half a second.
fn pong(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut reply = [0u8; 5];
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .is_ok()
        && stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG"
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn redis_freezes_thaws_dies_and_restarts_on_its_port() {
    let Some(mut redis) = Service::redis() else {
        return;
    };
    let port = redis.port();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}/"));
    assert!(pong(port));
    redis.freeze();
    assert!(!pong(port), "a frozen server answers nothing");
    redis.thaw();
    assert!(pong(port));
    redis.kill();
    assert!(!listening(port), "a killed server's port is closed");
    redis.restart();
    assert!(pong(port));
    drop(redis);
    assert!(!listening(port), "dropping the guard kills the server");
}

#[test]
fn ferretdb_dies_and_restarts_on_its_port() {
    let Some(mut ferretdb) = Service::ferretdb() else {
        return;
    };
    let port = ferretdb.port();
    assert_eq!(ferretdb.url(), format!("mongodb://127.0.0.1:{port}/"));
    ferretdb.kill();
    assert!(!listening(port));
    ferretdb.restart();
    assert!(listening(port));
}
