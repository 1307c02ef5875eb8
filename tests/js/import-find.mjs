// The automerge-repo JS client's view of a large document, for the bench's
// `import` scenario (not a test):
//
//   node import-find.mjs upload URL FILE   import FILE (a saved automerge
//       document) into a repo connected to URL; once the server's sync
//       state says it holds every head, a second, fresh repo on the same
//       server finds it; done when the second holds every head.
//       Prints {"docId", "heads", "ms", "storedMs"} (storedMs: from the
//       whole history leaving the client to the server's acknowledgement
//       of every head arriving).
//   node import-find.mjs find URL DOCID HEADS   a fresh repo finds DOCID;
//       done when it holds every head in HEADS (comma-separated hex).
//       Prints {"ms"}.
//
// One JSON line on stdout; diagnostics on stderr; exit 1 on failure.

import { readFileSync } from "node:fs"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import * as A from "@automerge/automerge"

for (const k of ["log", "info", "debug", "warn"]) {
  console[k] = (...args) => console.error(...args)
}

const TIMEOUT_MS = 600_000
const [mode, url, arg, headsArg] = process.argv.slice(2)

function repoOn(url, adapter = new WebSocketClientAdapter(url)) {
  return new Repo({ network: [adapter] })
}

/** An adapter that notes when the first large sync message (the whole
 *  history) leaves, and when a sync message from the server first names
 *  every one of `heads` (its acknowledgement). */
function timedAdapter(url, heads) {
  const adapter = new WebSocketClientAdapter(url)
  const times = { sentAt: undefined, ackedAt: undefined }
  const send = adapter.send.bind(adapter)
  adapter.send = message => {
    if (times.sentAt === undefined && message.type === "sync" && message.data?.length > 10_000) {
      times.sentAt = performance.now()
    }
    send(message)
  }
  adapter.on("message", message => {
    if (times.sentAt === undefined || times.ackedAt !== undefined || message.type !== "sync") return
    const theirs = A.decodeSyncMessage(message.data).heads
    if (heads.every(h => theirs.includes(h))) times.ackedAt = performance.now()
  })
  return { adapter, times }
}

function connected(repo) {
  return new Promise(resolve => repo.networkSubsystem.once("peer", resolve))
}

/** Resolves once the handle's document holds every head in `heads`. */
function holds(handle, heads) {
  const has = () => {
    const doc = handle.doc()
    return doc !== undefined && A.hasHeads(doc, heads)
  }
  return new Promise(resolve => {
    if (has()) return resolve()
    const check = () => {
      if (has()) {
        handle.off("change", check)
        resolve()
      }
    }
    handle.on("change", check)
  })
}

/** Resolves once the server's sync messages say it holds every head. */
function serverHolds(repo, docId, heads) {
  return new Promise(resolve => {
    const check = ({ documentId, syncState }) => {
      const theirs = syncState.theirHeads ?? []
      if (documentId === docId && heads.every(h => theirs.includes(h))) {
        repo.synchronizer.off("sync-state", check)
        resolve()
      }
    }
    repo.synchronizer.on("sync-state", check)
  })
}

async function findUntil(url, docId, heads) {
  const repo = repoOn(url)
  await connected(repo)
  const started = performance.now()
  const handle = await repo.find(docId)
  await holds(handle, heads)
  return { repo, ms: performance.now() - started }
}

async function main() {
  const timer = setTimeout(() => {
    console.error("timed out")
    process.exit(1)
  }, TIMEOUT_MS)
  if (mode === "upload") {
    const bytes = readFileSync(arg)
    const heads = A.getHeads(A.load(bytes))
    const { adapter, times } = timedAdapter(url, heads)
    const uploader = repoOn(url, adapter)
    await connected(uploader)
    const started = performance.now()
    const handle = uploader.import(bytes)
    await serverHolds(uploader, handle.documentId, heads)
    // From the whole history leaving this client to the server's
    // acknowledgement arriving: what the server takes to check, store
    // and acknowledge it (the client's own work before and after, such
    // as saving the document to send it, is not counted).
    const storedMs = times.ackedAt - times.sentAt
    const { repo } = await findUntil(url, handle.documentId, heads)
    const ms = performance.now() - started
    process.stdout.write(JSON.stringify({ docId: handle.documentId, heads, ms, storedMs }) + "\n")
    await Promise.all([uploader.shutdown(), repo.shutdown()])
  } else if (mode === "find") {
    const { repo, ms } = await findUntil(url, arg, headsArg.split(","))
    process.stdout.write(JSON.stringify({ ms }) + "\n")
    await repo.shutdown()
  } else {
    throw new Error("usage: import-find.mjs upload URL FILE | find URL DOCID HEADS")
  }
  clearTimeout(timer)
  process.exit(0)
}

main().catch(err => {
  console.error(err?.stack ?? err)
  process.exit(1)
})
