//! The example's `axum::Router`: plain axum, nothing coreline-specific, so the same router
//! runs on coreline (`examples/axum.rs`) and on `axum::serve` (bench/axum-peer, which
//! includes this file) for the comparison in bench/README.md.
//!
//! - `GET /plaintext` → `Hello, World!` (`text/plain`);
//! - `GET /users` → every user, as a JSON array;
//! - `GET /users/{id}` → that user as JSON, or 404;
//! - `POST /users` with a JSON `{"name": .., "email": ..}` → 201 and the new user as JSON
//!   (400/415/422 for a body that is not such JSON, as axum's `Json` extractor answers);
//! - `POST /greeting` with a JSON `{"name": ..}` → `{"greeting": "Hello, NAME!"}`: JSON in
//!   and out without touching the state (what the benchmark's `axum-json` scenario posts);
//! - `GET /stats` → `{"users": N, "created": N}`: how many users exist, and were created;
//! - anything else → 404.
//!
//! The state (users, the next id, a counter) is shared by every core through an `Arc`.
//! Responses are gzip-compressed for clients that accept it (tower-http's
//! `CompressionLayer`, which leaves bodies under 32 bytes alone).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::compression::CompressionLayer;

/// A user as stored and returned.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
}

/// What `POST /users` takes.
#[derive(Debug, Deserialize)]
pub struct NewUser {
    pub name: String,
    pub email: String,
}

/// The state every route shares.
#[derive(Debug)]
pub struct Users {
    next_id: AtomicU64,
    created: AtomicU64,
    by_id: Mutex<BTreeMap<u64, User>>,
}

impl Users {
    /// One user to start with: `GET /users/1` answers from the first request on.
    fn seeded() -> Users {
        let ada = User {
            id: 1,
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
        };
        Users {
            next_id: AtomicU64::new(2),
            created: AtomicU64::new(0),
            by_id: Mutex::new(BTreeMap::from([(1, ada)])),
        }
    }
}

/// The router, with its state and layers.
pub fn router() -> Router {
    Router::new()
        .route("/plaintext", get(|| async { "Hello, World!" }))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user))
        .route("/greeting", post(greeting))
        .route("/stats", get(stats))
        .with_state(Arc::new(Users::seeded()))
        .layer(CompressionLayer::new())
}

async fn list_users(State(users): State<Arc<Users>>) -> Json<Vec<User>> {
    Json(users.by_id.lock().unwrap().values().cloned().collect())
}

async fn get_user(
    State(users): State<Arc<Users>>,
    Path(id): Path<u64>,
) -> Result<Json<User>, StatusCode> {
    let found = users.by_id.lock().unwrap().get(&id).cloned();
    found.map(Json).ok_or(StatusCode::NOT_FOUND)
}

async fn create_user(
    State(users): State<Arc<Users>>,
    Json(new): Json<NewUser>,
) -> (StatusCode, Json<User>) {
    let id = users.next_id.fetch_add(1, Ordering::Relaxed);
    let user = User {
        id,
        name: new.name,
        email: new.email,
    };
    users.by_id.lock().unwrap().insert(id, user.clone());
    users.created.fetch_add(1, Ordering::Relaxed);
    (StatusCode::CREATED, Json(user))
}

/// What `POST /greeting` takes.
#[derive(Debug, Deserialize)]
pub struct Greet {
    pub name: String,
}

/// What `POST /greeting` answers.
#[derive(Debug, Serialize)]
pub struct Greeting {
    pub greeting: String,
}

async fn greeting(Json(greet): Json<Greet>) -> Json<Greeting> {
    Json(Greeting {
        greeting: format!("Hello, {}!", greet.name),
    })
}

async fn stats(State(users): State<Arc<Users>>) -> Json<serde_json::Value> {
    let count = users.by_id.lock().unwrap().len();
    Json(serde_json::json!({
        "users": count,
        "created": users.created.load(Ordering::Relaxed),
    }))
}
