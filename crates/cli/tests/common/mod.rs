//! Shared harness for the end-to-end suites: a real Dangan server on a loopback port, on either
//! engine, reached only through HTTP.
#![allow(dead_code)]

pub mod browser;

use std::path::PathBuf;

use dangan_app::{App, Settings};
use dangan_store::testing::TestDb;

pub const ADMIN_PASSWORD: &str = "test-admin-pass-1";
/// The backup key every test server is configured with.
pub const BACKUP_KEY: &str = "5e1f00d2a9c84b7e90a1c3d5e7f9021436587a9bcdef0123456789abcdef0a1b";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A running server. Dropping it stops the server and removes its data.
pub struct TestServer {
    pub base: String,
    pub app: App,
    pub engine: Engine,
    pub data_dir: PathBuf,
    _tmp: tempfile::TempDir,
    _db: Option<TestDb>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts a server with an admin (password `ADMIN_PASSWORD`) and `demo` demo archives.
    /// `None` when the engine is PostgreSQL and no server is reachable outside CI.
    pub async fn start(engine: Engine, demo: u64) -> Option<TestServer> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().to_path_buf();
        let (url, db) = match engine {
            Engine::Sqlite => (String::new(), None),
            Engine::Postgres => {
                let db = TestDb::create().await?;
                (db.url.clone(), Some(db))
            }
        };
        let store = dangan_store::open(&url, &data_dir.join("dangan.db")).await.expect("open store");
        store.migrate().await.expect("migrate");
        let mut settings = Settings::new(data_dir.clone());
        settings.backup.key = Some(dangan_app::backup::BackupKey::from_hex(BACKUP_KEY).expect("backup key"));
        let app = App::new(store, settings);
        app.ensure_admin(Some(ADMIN_PASSWORD)).await.expect("admin");
        if demo > 0 {
            let owners = app.ensure_demo_company(Some(ADMIN_PASSWORD)).await.expect("demo company");
            app.load_demo(0, demo, owners, 1, |_| {}).await.expect("demo data");
        }
        let (base, tx) = serve(&app).await;
        Some(TestServer { base, app, engine, data_dir, _tmp: tmp, _db: db, shutdown: Some(tx) })
    }

    /// Another server on this server's PostgreSQL database (several stateless servers behind a
    /// load balancer): same encryption key, its own process state (caches). `None` on SQLite.
    pub async fn twin(&self) -> Option<TestServer> {
        let url = self.database_url()?;
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().to_path_buf();
        let store = dangan_store::open(&url, &data_dir.join("unused.db")).await.expect("open store");
        let mut settings = Settings::new(data_dir.clone());
        settings.crypto = self.app.settings.crypto.clone();
        let app = App::new(store, settings);
        let (base, tx) = serve(&app).await;
        Some(TestServer { base, app, engine: self.engine, data_dir, _tmp: tmp, _db: None, shutdown: Some(tx) })
    }

    /// Another server over this server's store (the same database, key and sessions), with
    /// settings adjusted: to compare a code path that depends on a setting with the default one.
    pub async fn variant(&self, adjust: impl FnOnce(&mut Settings)) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut settings = (*self.app.settings).clone();
        adjust(&mut settings);
        let app = App::new(self.app.store.clone(), settings);
        let (base, tx) = serve(&app).await;
        TestServer { base, app, engine: self.engine, data_dir: self.data_dir.clone(), _tmp: tmp, _db: None, shutdown: Some(tx) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Logs in through the API and returns a bearer token.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let res = reqwest::Client::new()
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(res.status(), 200, "login as {username} failed");
        let body: serde_json::Value = res.json().await.expect("login json");
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await
    }

    /// The PostgreSQL database URL of this server (`None` on SQLite), for tests that must reach
    /// under the API (e.g. to age a grant instead of waiting for it to expire).
    pub fn database_url(&self) -> Option<String> {
        self._db.as_ref().map(|db| db.url.clone())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `app` on a loopback port until the returned sender is used or dropped.
async fn serve(app: &App) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = dangan_web::router(app.clone());
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
    });
    (base, tx)
}

/// Both engines, PostgreSQL only where reachable (or required).
pub async fn servers(demo: u64) -> Vec<TestServer> {
    let mut v = vec![TestServer::start(Engine::Sqlite, demo).await.expect("sqlite server")];
    if let Some(pg) = TestServer::start(Engine::Postgres, demo).await {
        v.push(pg);
    }
    v
}

/// A response, read whole: status, headers, body and the body as JSON (Null when not JSON).
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    pub json: serde_json::Value,
}

impl Resp {
    pub fn content_type(&self) -> &str {
        self.headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn is_problem(&self) -> bool {
        self.content_type().starts_with("application/problem+json")
    }
    pub fn problem_type(&self) -> &str {
        self.json["type"].as_str().unwrap_or("")
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let res = rb.send().await.expect("request failed");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body").to_vec();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Resp { status, headers, bytes, json }
}

/// A 1×1 PNG: signature, IHDR, IDAT, IEND.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00,
    0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D,
    0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// Moves a user's grants on an archive five minutes into the past, in the server's database (a
/// grant lasts hours; the tests need it over now). Returns how many rows changed.
pub async fn expire_grants(s: &TestServer, user_id: i64, archive_id: i64) -> u64 {
    let past = chrono::Utc::now() - chrono::Duration::minutes(5);
    match s.engine {
        Engine::Sqlite => {
            let path = s.data_dir.join("dangan.db");
            tokio::task::spawn_blocking(move || {
                let c = rusqlite::Connection::open(&path).expect("open the SQLite database");
                c.busy_timeout(std::time::Duration::from_secs(10)).expect("busy timeout");
                c.execute("UPDATE grants SET expires_at = ?1 WHERE user_id = ?2 AND archive_id = ?3", rusqlite::params![past.timestamp_micros(), user_id, archive_id])
                    .expect("age the grant") as u64
            })
            .await
            .expect("join")
        }
        Engine::Postgres => {
            let url = s.database_url().expect("PostgreSQL server without a database URL");
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect to the test database");
            let task = tokio::spawn(conn);
            let n = client.execute("UPDATE grants SET expires_at = $1 WHERE user_id = $2 AND archive_id = $3", &[&past, &user_id, &archive_id]).await.expect("age the grant");
            drop(client);
            let _ = task.await;
            n
        }
    }
}
