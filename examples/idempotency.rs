//! An HTTP-style `POST /orders` handler made safe to retry with an `Idempotency-Key`
//! header: the order (app state), its audit entry and the cached response commit in one
//! durable write, so a retry replays the response instead of creating a second order.
//!
//!     cargo run --example idempotency
//!
//! It prints what the handler answers to a first request, a concurrent duplicate, the
//! same key with a different body, a retry, a bad request (a cached 400) and a request
//! that meets a payment gateway outage (503, the key released, the retry succeeds).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use hardstore::{AuditEvent, Begin, Durability, Error, Options, Result, Store};

/// How long a handler owns a key before another may take over: longer than the work.
const LEASE: Duration = Duration::from_secs(60);
const TENANT: &str = "acme";

struct Request {
    method: &'static str,
    path: &'static str,
    idempotency_key: &'static str,
    body: &'static str,
}

struct Response {
    status: u16,
    /// Seconds, for a `Retry-After` header.
    retry_after: Option<u64>,
    /// Sent again from the cache (a real server might add a header saying so).
    replayed: bool,
    body: String,
}

impl Response {
    fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            retry_after: None,
            replayed: false,
            body: body.into(),
        }
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

struct App {
    store: Store,
    /// A stand-in for an external payment gateway.
    gateway_down: AtomicBool,
    charges: AtomicU64,
    /// Holds the next request inside its work so the demo can send duplicates meanwhile.
    pause: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
}

impl App {
    fn charge(&self, amount_cents: u64) -> std::result::Result<String, String> {
        if self.gateway_down.load(Ordering::SeqCst) {
            return Err("payment gateway: 503".into());
        }
        let n = self.charges.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(format!("ch_{n}_{amount_cents}"))
    }
}

/// `POST /orders` with an `Idempotency-Key` header.
fn post_orders(app: &App, req: &Request) -> Result<Response> {
    let idem = app.store.idempotency();
    // What makes two requests "the same": method, path and body; not the headers.
    let fingerprint = format!("{} {}\n{}", req.method, req.path, req.body);
    // `Buffered` is enough for begin: if it is lost in a crash, nothing that depended on
    // it can have reached disk either (the completion below is durable).
    let begun = idem.begin(TENANT, req.idempotency_key, fingerprint.as_bytes(), LEASE)?;
    let token = match begun {
        Begin::Started(token) => token,
        Begin::Replay(cached) => {
            let mut r = Response::new(
                cached.status.unwrap_or(200),
                String::from_utf8_lossy(&cached.body),
            );
            r.replayed = true;
            return Ok(r);
        }
        Begin::InProgress { retry_after } => {
            let secs = u64::try_from(retry_after.as_millis().div_ceil(1000)).unwrap_or(1);
            return Ok(
                Response::new(409, r#"{"error":"a request with this key is in progress"}"#)
                    .retry_after(secs),
            );
        }
        Begin::Mismatch => {
            return Ok(Response::new(
                422,
                r#"{"error":"this key was used for a different request"}"#,
            ))
        }
    };

    // We own the key. A malformed body is a terminal failure: cache the 400, so every
    // retry of this request gets the same answer.
    let Some((sku, qty)) = parse_order(req.body) else {
        let body = r#"{"error":"expected {\"sku\":string,\"qty\":1..100}"}"#;
        idem.fail(&token, Some(400), body.as_bytes())?;
        return Ok(Response::new(400, body));
    };

    let pause = app.pause.lock().expect("pause lock").take();
    if let Some((started, proceed)) = pause {
        started.send(()).expect("demo is waiting");
        proceed.recv().expect("demo lets us go on");
    }

    // An external side effect. If an earlier holder of this key crashed after charging,
    // its recovery point says so: do not charge twice.
    let charge = match &token.recovery {
        Some((name, id)) if name == "charged" => String::from_utf8_lossy(id).into_owned(),
        _ => match app.charge(qty * 1_250) {
            Ok(id) => {
                idem.save_recovery(&token, "charged", id.as_bytes())?;
                id
            }
            Err(e) => {
                // Retryable: free the key so the client's retry starts afresh.
                idem.release(&token)?;
                return Ok(Response::new(503, format!(r#"{{"error":"{e}"}}"#)).retry_after(1));
            }
        },
    };

    // The order, its audit entry and the cached response: all durable together, or
    // none of them. The closure may run more than once, so it only touches `tx`.
    let key = req.idempotency_key;
    let t = token.clone();
    let written = app.store.write(Durability::Durable, move |tx| {
        let id = tx
            .kv_get("orders", b"last_id")?
            .and_then(|v| <[u8; 8]>::try_from(v).ok())
            .map_or(0, u64::from_be_bytes)
            + 1;
        tx.kv_put("orders", b"last_id", &id.to_be_bytes())?;
        let body = format!(r#"{{"order":{id},"sku":"{sku}","qty":{qty},"charge":"{charge}"}}"#);
        tx.kv_put("orders", format!("order/{id}").as_bytes(), body.as_bytes())?;
        tx.audit_append(
            &AuditEvent::new(TENANT, "order.created")
                .resource(format!("order/{id}"))
                .detail("idempotency_key", key),
        )?;
        tx.idem_complete(&t, Some(201), body.as_bytes())?;
        Ok(body)
    });
    match written {
        Ok(body) => Ok(Response::new(201, body)),
        // Our lease ran out and another handler took the key over: nothing was written;
        // the client's retry will see its answer.
        Err(Error::Fenced(_)) => Ok(Response::new(
            409,
            r#"{"error":"a request with this key is in progress"}"#,
        )
        .retry_after(1)),
        Err(e) => {
            // The card is charged and the recovery point saved: keep the key (a release
            // would drop the recovery point) but end the lease now, so the client's retry
            // takes over at once and finishes the order without charging again.
            idem.abandon(&token)?;
            Ok(Response::new(503, format!(r#"{{"error":"{e}"}}"#)).retry_after(1))
        }
    }
}

/// `{"sku":"A-1","qty":2}` -> ("A-1", 2).
fn parse_order(body: &str) -> Option<(String, u64)> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let sku = v.get("sku")?.as_str()?;
    let qty = v.get("qty")?.as_u64().filter(|q| (1..=100).contains(q))?;
    let ok = !sku.is_empty()
        && sku.len() <= 32
        && sku.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then(|| (sku.to_owned(), qty))
}

fn show(what: &str, req: &Request, r: &Response) {
    let reason = match r.status {
        201 => "Created",
        400 => "Bad Request",
        409 => "Conflict",
        422 => "Unprocessable Content",
        503 => "Service Unavailable",
        _ => "",
    };
    println!("{what}");
    println!(
        "  > {} {}  Idempotency-Key: {}  {}",
        req.method, req.path, req.idempotency_key, req.body
    );
    let retry = r
        .retry_after
        .map(|s| format!("  Retry-After: {s}"))
        .unwrap_or_default();
    let replayed = if r.replayed { "  (replayed)" } else { "" };
    println!("  < {} {reason}{retry}{replayed}  {}", r.status, r.body);
}

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hardstore-idem-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let app = App {
        store: Store::open(dir.join("shop.hardstore"), Options::new())?,
        gateway_down: AtomicBool::new(false),
        charges: AtomicU64::new(0),
        pause: Mutex::new(None),
    };
    let order = Request {
        method: "POST",
        path: "/orders",
        idempotency_key: "7f3a9c2e-order",
        body: r#"{"sku":"A-1","qty":2}"#,
    };

    // 1. The first request is held inside its work while duplicates arrive.
    let (started_tx, started_rx) = mpsc::channel();
    let (proceed_tx, proceed_rx) = mpsc::channel();
    *app.pause.lock().expect("pause lock") = Some((started_tx, proceed_rx));
    println!("a first request arrives; while its handler is still working:");
    let first = std::thread::scope(|s| -> Result<Response> {
        let handler = s.spawn(|| post_orders(&app, &order));
        started_rx.recv().expect("the first request started");

        // 2. The client times out and sends the same request again: 409.
        let dup = post_orders(&app, &order)?;
        show(
            "a concurrent duplicate (the client timed out and resent it):",
            &order,
            &dup,
        );
        assert_eq!(dup.status, 409);

        // 3. The same key with another body: a client bug, 422.
        let other = Request {
            body: r#"{"sku":"A-1","qty":3}"#,
            ..order
        };
        let r = post_orders(&app, &other)?;
        show(
            "the same key with a different body (a client bug):",
            &other,
            &r,
        );
        assert_eq!(r.status, 422);

        proceed_tx.send(()).expect("handler waits");
        handler.join().expect("handler thread")
    })?;
    show("the first request, once its work is done:", &order, &first);
    assert_eq!(first.status, 201);

    // 4. The client never saw that answer (say the connection dropped): it retries.
    let retry = post_orders(&app, &order)?;
    show("a retry after it completed:", &order, &retry);
    assert!(retry.replayed && retry.status == 201 && retry.body == first.body);
    println!("  identical bytes: {}", retry.body == first.body);

    // 5. A malformed request: a terminal failure, cached like a success.
    let bad = Request {
        idempotency_key: "c41d-bad",
        body: r#"{"sku":"A-1","qty":0}"#,
        ..order
    };
    show("a bad request:", &bad, &post_orders(&app, &bad)?);
    show("its retry:", &bad, &post_orders(&app, &bad)?);

    // 6. A retryable failure: the key is released and the retry starts afresh.
    let next = Request {
        idempotency_key: "e5b0-order",
        body: r#"{"sku":"B-7","qty":1}"#,
        ..order
    };
    app.gateway_down.store(true, Ordering::SeqCst);
    show(
        "while the payment gateway is down:",
        &next,
        &post_orders(&app, &next)?,
    );
    app.gateway_down.store(false, Ordering::SeqCst);
    show(
        "its retry, once the gateway is back:",
        &next,
        &post_orders(&app, &next)?,
    );

    // What happened, exactly once each.
    let store = &app.store;
    let orders = store
        .kv_get("orders", b"last_id")?
        .and_then(|v| <[u8; 8]>::try_from(v).ok())
        .map_or(0, u64::from_be_bytes);
    println!(
        "\n{orders} orders stored, {} card charges, {} audit entries (verify ok: {})",
        app.charges.load(Ordering::SeqCst),
        store.audit().size()?,
        store.audit().verify()?.is_ok()
    );
    assert_eq!((orders, app.charges.load(Ordering::SeqCst)), (2, 2));
    app.store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
