//! Operations endpoints: health and Prometheus metrics (on a listener of
//! their own, never the public one).

use testkit::{Client, TestServer, http_get as get};

#[tokio::test]
async fn healthz_answers_ok() {
    let server = TestServer::start().await;
    let (status, body) = get(&server.http_url("/healthz")).await;
    assert_eq!(status, 200);
    assert!(body.contains("ok"));
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_count_connections_documents_messages_and_flushes() {
    let server = TestServer::start().await;
    let a = Client::connect(&server.sync_url()).await;
    let doc = a.create("Mätvärden").await;
    a.splice(doc, 0, 0, "Nya ");
    a.wait_acked(doc).await.expect("acked");
    let (status, body) = get(&server.metrics_url()).await;
    assert_eq!(status, 200);
    for line in ["synpunkt_connections 1", "synpunkt_resident_documents 1"] {
        assert!(body.contains(line), "missing {line:?} in\n{body}");
    }
    for name in [
        "synpunkt_messages_in_total",
        "synpunkt_messages_out_total",
        "synpunkt_bytes_in_total",
        "synpunkt_bytes_out_total",
        "synpunkt_store_flush_seconds_count",
    ] {
        let value: f64 = body
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("missing {name} in\n{body}"));
        assert!(value > 0.0, "{name} = {value}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener() {
    let server = TestServer::start().await;
    let (status, body) = get(&server.http_url("/metrics")).await;
    assert_eq!(status, 404);
    assert!(!body.contains("synpunkt_"), "{body}");
    // And the metrics listener serves nothing else.
    let elsewhere = server.metrics_url().replace("/metrics", "/healthz");
    let (status, _) = get(&elsewhere).await;
    assert_eq!(status, 404);
    server.shutdown().await;
}
