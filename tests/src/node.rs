//! The real JavaScript automerge-repo client, as a child process running
//! `tests/js/peer.mjs` (one JSON command per line in, one reply per line out).

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::TIMEOUT;

#[derive(Debug)]
pub struct NodePeer {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl NodePeer {
    /// Starts a peer connected to `sync_url`. Needs `npm install` in
    /// `tests/js` (the README's test command does it).
    pub fn spawn(sync_url: &str) -> Self {
        let script = crate::repo_root().join("tests/js/peer.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(sync_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (is Node.js installed?)");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Self {
            child,
            stdin,
            stdout,
            next_id: 0,
        }
    }

    /// Sends one command and returns its reply; fails the test on `ok:false`.
    pub async fn call(&mut self, mut command: Value) -> Value {
        let reply = self.try_call(&mut command).await;
        assert_eq!(
            reply["ok"],
            json!(true),
            "node peer failed {command}: {reply}"
        );
        reply
    }

    /// Sends one command and returns its reply, `ok:false` included.
    pub async fn try_call(&mut self, command: &mut Value) -> Value {
        self.next_id += 1;
        command["id"] = json!(self.next_id);
        let line = format!("{command}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to node peer");
        let read = async {
            while let Some(line) = self.stdout.next_line().await.expect("read node peer") {
                let reply: Value = serde_json::from_str(&line).expect("node peer replies JSON");
                if reply["id"] == json!(self.next_id) {
                    return reply;
                }
            }
            panic!("node peer exited while running {command}");
        };
        tokio::time::timeout(TIMEOUT, read)
            .await
            .unwrap_or_else(|_| panic!("node peer did not answer {command}"))
    }

    /// Ends the peer cleanly.
    pub async fn quit(mut self) {
        let _ = self.try_call(&mut json!({"cmd": "quit"})).await;
        let _ = tokio::time::timeout(TIMEOUT, self.child.wait()).await;
    }
}
