//! The `synpunkt` binary: configuration errors, graceful shutdown on
//! SIGTERM, and durability of acknowledged changes across `kill -9`.

use testkit::{Client, ServerProcess, synpunkt_bin};

const TEXT: &str = "Läkemedelsverket 😀 — ATMP";

fn run_with(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(synpunkt_bin());
    command.args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run synpunkt")
}

#[test]
fn bad_configuration_is_rejected_at_start_with_a_clear_message() {
    // (arguments, environment, the option the message must name)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (&["serve", "--listen", "nonsense"], &[], "--listen"),
        (
            &["serve"],
            &[("SYNPUNKT_LISTEN", "127.0.0.1:99999")],
            "--listen",
        ),
        (
            &["serve", "--max-message-bytes", "10"],
            &[],
            "--max-message-bytes",
        ),
        (&["serve", "--ping-seconds", "0"], &[], "--ping-seconds"),
    ];
    for (args, env, mentions) in cases {
        let out = run_with(args, env);
        assert!(!out.status.success(), "{args:?} {env:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("invalid value"), "{args:?}: {stderr}");
        assert!(stderr.contains(mentions), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unusable_data_directory_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"x").expect("write");
    let data = file.join("data");
    let out = run_with(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data directory"), "{stderr}");
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start(dir.path()).await;
    let a = Client::connect(&server.sync_url()).await;
    let doc = a.create(TEXT).await;
    a.splice(doc, 0, 0, "Före nedstängning: ");
    a.wait_acked(doc).await.expect("acknowledged");
    let expected = a.text(doc);
    server.signal("TERM");
    a.wait_closed().await.expect("connections are closed");
    let admin = server.admin_token().to_owned();
    assert!(server.wait().await.success(), "a clean exit");

    let server = ServerProcess::start_as(dir.path(), &admin).await;
    let b = Client::connect(&server.sync_url()).await;
    b.find(doc).await.expect("the document is back");
    assert_eq!(b.text(doc), expected);
}

#[tokio::test]
async fn an_acknowledged_change_survives_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start(dir.path()).await;
    let a = Client::connect(&server.sync_url()).await;
    let doc = a.create(TEXT).await;
    for i in 0..20 {
        a.splice(doc, 0, 0, &format!("{i} "));
    }
    if let Err(e) = a.wait_acked(doc).await {
        panic!("not acknowledged: {e}; {}", a.debug_state(doc));
    }
    let expected = (a.text(doc), a.heads(doc));
    server.signal("KILL");
    let admin = server.admin_token().to_owned();
    server.wait().await;

    let server = ServerProcess::start_as(dir.path(), &admin).await;
    let b = Client::connect(&server.sync_url()).await;
    b.find(doc).await.expect("the document is back");
    b.wait_heads(doc, &expected.1)
        .await
        .expect("every acknowledged change");
    assert_eq!(b.text(doc), expected.0);
}
