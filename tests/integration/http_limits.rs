//! The HTTP listener's limits: a request head must arrive in time, a
//! connection waiting on its client with nothing moving is closed, and
//! connections that are not WebSockets are capped. Each one a client could
//! otherwise hold a file descriptor with for as long as it liked.

use std::time::Duration;

use testkit::{Client, TIMEOUT, TestServer, http_get, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

async fn connect(server: &TestServer) -> TcpStream {
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    TcpStream::connect(addr).await.expect("connect")
}

/// Reads until the server closes the connection (end of file or reset);
/// returns what arrived. Fails after `limit`.
async fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the server did not close the connection within {limit:?}"));
    received
}

/// A client that sends a request head one byte at a time and never ends
/// it; returns how long the server took to close the connection.
async fn slow_head(mut tcp: TcpStream, byte_every: Duration, limit: Duration) -> Duration {
    let started = Instant::now();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: synpunkt\r\nX-Slow: ")
        .await
        .expect("the start of a head");
    let mut ticks = tokio::time::interval(byte_every);
    let mut buf = [0u8; 256];
    let closed = async {
        loop {
            tokio::select! {
                read = tcp.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => panic!("an answer to half a request head"),
                },
                _ = ticks.tick() => {
                    if tcp.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::time::timeout(limit, closed)
        .await
        .expect("the slow head was cut off in time");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_cut_off_and_health_answers_throughout() {
    const SLOW: usize = 200;
    let header_timeout = Duration::from_secs(1);
    let server = TestServer::start_with(|c| {
        c.header_timeout = header_timeout;
        // Bytes keep moving: only the head timeout can end these.
        c.http_idle_timeout = Duration::from_secs(60);
    })
    .await;
    let mut slow = tokio::task::JoinSet::new();
    for _ in 0..SLOW {
        let tcp = connect(&server).await;
        slow.spawn(slow_head(
            tcp,
            Duration::from_millis(200),
            header_timeout * 5,
        ));
    }
    // Ordinary clients are served all along.
    let healthz = server.http_url("/healthz");
    let mut checks = 0;
    let mut every = tokio::time::interval(Duration::from_millis(50));
    while !slow.is_empty() {
        every.tick().await;
        let asked = Instant::now();
        let (status, body) = tokio::time::timeout(Duration::from_secs(2), http_get(&healthz))
            .await
            .expect("/healthz answers quickly while slow clients hang on");
        assert_eq!((status, body.as_str()), (200, "ok\n"));
        checks += 1;
        assert!(asked.elapsed() < Duration::from_secs(2));
        while let Some(done) = slow.try_join_next() {
            let took = done.expect("a slow client");
            // (The server's clock started at accept, a little earlier.)
            assert!(took >= header_timeout / 2, "closed after {took:?}");
        }
    }
    assert!(checks > 0);
    let metrics = server.metrics();
    assert!(metrics.http_timeouts.get() >= SLOW as u64);
    wait_until("the slow connections are gone", || {
        metrics.http_connections.get() == 0
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_and_a_stalled_body_are_closed() {
    let idle = Duration::from_secs(1);
    let server = TestServer::start_with(|c| {
        // Far beyond the waits below: only the idle timeout can act.
        c.header_timeout = Duration::from_secs(30);
        c.http_idle_timeout = idle;
    })
    .await;

    // One request answered, then nothing: kept alive, then closed.
    let mut tcp = connect(&server).await;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: synpunkt\r\n\r\n")
        .await
        .expect("request");
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"ok\n") {
        let n = tokio::time::timeout(TIMEOUT, tcp.read(&mut buf))
            .await
            .expect("an answer")
            .expect("read");
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    let answered = Instant::now();
    let rest = read_until_closed(&mut tcp, idle * 10).await;
    assert!(rest.is_empty());
    // (The server's clock started when it wrote the answer, a little
    // before we read it.)
    assert!(answered.elapsed() >= idle / 2);

    // A request whose body stops arriving: the handler waits for the
    // client, which counts as idle.
    let mut tcp = connect(&server).await;
    tcp.write_all(
        b"POST /api/workshops HTTP/1.1\r\nHost: synpunkt\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\"",
    )
    .await
    .expect("a partial request");
    let started = Instant::now();
    let answer = read_until_closed(&mut tcp, idle * 10).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert!(started.elapsed() >= idle);
    assert!(server.metrics().http_timeouts.get() >= 2);
    server.shutdown().await;
}

#[tokio::test]
async fn http_connections_over_the_cap_get_503_and_websockets_do_not_count() {
    const CAP: usize = 4;
    let server = TestServer::start_with(|c| c.max_http_connections = CAP).await;
    let metrics = server.metrics();
    // Upgraded WebSockets leave the count.
    let a = Client::connect(&server.sync_url()).await;
    let b = Client::connect(&server.sync_url()).await;
    wait_until("the upgrades have left the count", || {
        metrics.http_connections.get() == 0
    })
    .await;

    // Connections that say nothing fill the cap.
    let mut idle = Vec::new();
    for _ in 0..CAP {
        idle.push(connect(&server).await);
    }
    wait_until("the cap is full", || {
        metrics.http_connections.get() == CAP as i64
    })
    .await;
    let mut over = connect(&server).await;
    let answer = read_until_closed(&mut over, TIMEOUT).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(json["error"], "too many connections; try again later");
    assert_eq!(metrics.http_connections_refused.get(), 1);

    // One leaves: ordinary requests are served again.
    drop(idle.pop());
    wait_until("a slot is free", || {
        metrics.http_connections.get() == (CAP - 1) as i64
    })
    .await;
    let (status, _) = http_get(&server.http_url("/healthz")).await;
    assert_eq!(status, 200);
    // The WebSockets were never affected.
    let doc = a.create("still here").await;
    b.find(doc).await.expect("find");
    assert_eq!(b.text(doc), "still here");
    server.shutdown().await;
}
