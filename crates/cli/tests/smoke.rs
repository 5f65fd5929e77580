mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_login_on_both_engines() {
    for s in common::servers(10).await {
        let r = reqwest::get(s.url("/healthz")).await.unwrap();
        assert_eq!(r.status(), 200, "{:?}", s.engine);
        let token = s.admin_token().await;
        let page: serde_json::Value = reqwest::Client::new().get(s.url("/api/v1/archives?count=true")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(page["total"], 10, "{:?}", s.engine);
    }
}
