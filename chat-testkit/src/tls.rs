//! HTTPS and WSS clients for servers under test: a certificate authority of the test's own
//! (rcgen) that issues `localhost` certificates, and a client that trusts only it, speaking
//! HTTP/1 (hyper) and WebSocket (tokio-tungstenite) over tokio-rustls.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::client::TestUser;
use crate::unique::unique_name;

/// A client socket over TLS.
pub type TlsSocket = WebSocketStream<TlsStream<TcpStream>>;

/// A test certificate authority that issues `localhost` certificates.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    /// A fresh authority.
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Authority { issuer }
    }

    /// Writes a fresh `localhost` certificate and its key to `cert` and `key`; returns the
    /// certificate.
    pub fn issue(&self, cert: &Path, key: &Path) -> CertificateDer<'static> {
        let pair = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let leaf = params.signed_by(&pair, &self.issuer).unwrap();
        std::fs::write(cert, leaf.pem()).unwrap();
        std::fs::write(key, pair.serialize_pem()).unwrap();
        leaf.der().clone()
    }

    /// A client of the server at `addr` that trusts this authority.
    pub fn client(&self, addr: SocketAddr) -> TlsClient {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        // A resumed session reports the certificate of the session it resumes; every
        // handshake here must show what the server holds now.
        config.resumption = rustls::client::Resumption::disabled();
        TlsClient {
            addr,
            connector: TlsConnector::from(Arc::new(config)),
        }
    }
}

impl Default for Authority {
    fn default() -> Self {
        Authority::new()
    }
}

/// A client that trusts the test authority and reaches the server as `localhost`.
pub struct TlsClient {
    addr: SocketAddr,
    connector: TlsConnector,
}

impl TlsClient {
    /// A TLS connection to the server, its certificate checked for `localhost`.
    pub async fn connect(&self) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        self.connector
            .connect(name, tcp)
            .await
            .expect("TLS handshake")
    }

    /// The certificate a new handshake is shown.
    pub async fn served_certificate(&self) -> CertificateDer<'static> {
        let stream = self.connect().await;
        stream.get_ref().1.peer_certificates().unwrap()[0].clone()
    }

    /// One HTTPS request on a connection of its own: status, `set-cookie`, JSON body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Option<String>, Value) {
        let io = TokioIo::new(self.connect().await);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("localhost:{}", self.addr.port()))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authtoken", token);
        }
        let body = body.map_or_else(String::new, |body| body.to_string());
        let response = sender
            .send_request(
                request
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get("set-cookie")
            .map(|value| value.to_str().unwrap().to_owned());
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, cookie, json)
    }

    /// Registers a user over HTTPS.
    pub async fn register(&self, name: &str) -> TestUser {
        let email = format!("{}@tls.test", unique_name(name));
        let body = json!({"email": email, "password": "password1", "name": name});
        let (status, _, body) = self
            .request("POST", "/api/register", None, Some(body))
            .await;
        assert_eq!(status, 200, "{body}");
        TestUser {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
            email,
            name: name.to_owned(),
        }
    }

    /// A WSS socket of `user`.
    pub async fn wss(&self, user: &TestUser) -> TlsSocket {
        let url = format!(
            "wss://localhost:{}/ws/{}?token={}",
            self.addr.port(),
            user.id,
            user.token
        );
        let (socket, _) = tokio_tungstenite::client_async(url, self.connect().await)
            .await
            .expect("WSS upgrade");
        socket
    }
}

/// Sends a message on `socket` and waits for its echo.
pub async fn send_and_echo(socket: &mut TlsSocket, room: &str, text: &str) {
    let frame = json!({"type": "message", "room_id": room, "message": text});
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("an echo within 5 s")
            .expect("socket open")
            .expect("no socket error");
        if let Message::Text(text_frame) = frame {
            let event: Value = serde_json::from_str(&text_frame).unwrap();
            if event["type"] == "message" && event["message"] == text {
                return;
            }
        }
    }
}
