//! The client's file calls: uploads as a browser's form would send them, and downloads with
//! an optional `Range`.

use serde_json::Value;

use crate::client::{Client, TestUser, read};

impl Client {
    /// Uploads `bytes` to `room` as the multipart part `file`, named `name` and declared as
    /// `content_type` (which the server must not trust); the status and the JSON body.
    pub async fn upload(
        &self,
        user: &TestUser,
        room: &str,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str(content_type)
            .expect("a valid content type");
        let form = reqwest::multipart::Form::new().part("file", part);
        let response = self
            .http
            .post(self.url(&format!("/api/rooms/{room}/files")))
            .header("authtoken", &user.token)
            .multipart(form)
            .send()
            .await
            .expect("upload request");
        read(response).await
    }

    /// `GET path` as `user`, with a `Range` header when given; the raw response.
    pub async fn fetch_bytes(
        &self,
        user: &TestUser,
        path: &str,
        range: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .get(self.url(path))
            .header("authtoken", &user.token);
        if let Some(range) = range {
            request = request.header("range", range);
        }
        request.send().await.expect("download request")
    }
}
