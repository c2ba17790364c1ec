//! What an operator reads: every response names its request, so a client's report can be found
//! in the request log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;

#[tokio::test]
async fn every_answer_carries_its_own_request_id() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for path in ["/api/v1/views", "/api/v1/views", "/api/v1/no-such-route", "/"] {
        let res = app.client.get(format!("{}{path}", app.base)).bearer_auth(&admin.token).send().await.unwrap();
        let id = res.headers().get("x-request-id").expect("x-request-id").to_str().unwrap().to_string();
        assert!(id.len() > 8, "{id}");
        ids.push(id);
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    app.stop().await;
}
