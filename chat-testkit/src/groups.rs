//! Group rooms as a client drives them: creating one, the verbs the original client never
//! needed (DELETE, PATCH, PUT), and sockets speaking protocol v2, which receive membership
//! events.

use serde_json::{Value, json};

use crate::client::{Client, TestUser, read};
use crate::socket::Socket;

impl Client {
    /// Creates the group `name` owned by `owner` with `members`; panics unless it is a 201.
    /// The room as the server returned it.
    pub async fn group(&self, owner: &TestUser, name: &str, members: &[&TestUser]) -> Value {
        let ids: Vec<&str> = members.iter().map(|user| user.id.as_str()).collect();
        let (status, body) = self
            .post(
                "/api/rooms",
                Some(&owner.token),
                json!({"name": name, "member_ids": ids}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// `DELETE path` as `user`; the status and the JSON body.
    pub async fn delete(&self, path: &str, user: &TestUser) -> (u16, Value) {
        let request = self.http.delete(self.url(path)).bearer_auth(&user.token);
        read(request.send().await.expect("DELETE")).await
    }

    /// `PATCH path` with `body` as `user`; the status and the JSON body.
    pub async fn patch(&self, path: &str, user: &TestUser, body: Value) -> (u16, Value) {
        let request = self
            .http
            .patch(self.url(path))
            .bearer_auth(&user.token)
            .json(&body);
        read(request.send().await.expect("PATCH")).await
    }

    /// `PUT path` with `body` as `user`; the status and the JSON body.
    pub async fn put(&self, path: &str, user: &TestUser, body: Value) -> (u16, Value) {
        let request = self
            .http
            .put(self.url(path))
            .bearer_auth(&user.token)
            .json(&body);
        read(request.send().await.expect("PUT")).await
    }

    /// A socket of `user` speaking protocol v2 (`?protocol=2`): it receives membership events
    /// besides messages, presence and errors.
    pub async fn connect_v2(&self, user: &TestUser) -> Socket {
        let url = self.ws_url(&format!("/ws/{}?token={}&protocol=2", user.id, user.token));
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("socket upgrade");
        socket
    }
}
