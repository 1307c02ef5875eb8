// The reference JavaScript sync server, for side-by-side benchmarks
// (`cargo xtask bench`), built as automerge-repo's own sync server
// (automerge-repo-sync-server) is: a Repo with a WebSocket server adapter,
// Node filesystem storage, and a share policy that announces nothing.
//
//   node sync-server.mjs DATA_DIR [PORT]
//
// Listens on 127.0.0.1:PORT (default 0: any free port), prints exactly one
// line `listening on PORT` to stdout once it accepts connections, and exits
// on SIGTERM or SIGINT (after the repo's pending saves). Any path is
// accepted; query strings (`?token=`) are ignored.

import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

// automerge-repo reports some errors with console.log: keep stdout to the
// one line the bench reads.
for (const k of ["log", "info", "debug", "warn"]) {
  console[k] = (...args) => console.error(...args)
}

const dir = process.argv[2]
if (!dir) {
  console.error("usage: node sync-server.mjs DATA_DIR [PORT]")
  process.exit(2)
}
const port = Number(process.argv[3] ?? 0)

const wss = new WebSocketServer({ host: "127.0.0.1", port })
const adapter = new WebSocketServerAdapter(wss)
// The Repo connects its network adapter only after reading its storage id
// from storage; a socket accepted before that has no handler and is reset.
// So "listening" is printed once both the port and the adapter are ready.
const adapterConnected = new Promise(resolve => {
  const connect = adapter.connect.bind(adapter)
  adapter.connect = (...args) => {
    connect(...args)
    resolve()
  }
})
const listening = new Promise(resolve => wss.on("listening", resolve))
const repo = new Repo({
  network: [adapter],
  storage: new NodeFSStorageAdapter(dir),
  peerId: "storage-server-bench",
  sharePolicy: async () => false,
})

Promise.all([listening, adapterConnected]).then(() => {
  process.stdout.write(`listening on ${wss.address().port}\n`)
})
wss.on("error", err => {
  console.error("[sync-server]", err?.stack ?? err)
  process.exit(1)
})

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  try {
    await Promise.race([repo.shutdown(), new Promise(r => setTimeout(r, 5000))])
  } catch (e) {
    console.error("[sync-server] shutdown:", e?.message ?? e)
  }
  wss.close()
  process.exit(0)
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
