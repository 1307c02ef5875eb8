// A scripted automerge-repo peer, driven line by line over stdin/stdout.
//
//   node peer.mjs ws://127.0.0.1:PORT/sync
//
// stdin:  one JSON command per line, e.g. {"id":1,"cmd":"create","text":"hi"}
// stdout: exactly one JSON line per command: {"id":1,"ok":true,...} or
//         {"id":1,"ok":false,"error":"..."}. Nothing else is ever written to
//         stdout; diagnostics go to stderr.
//
// Commands run concurrently (each reply echoes the command's "id"); a test that
// waits for each reply before sending the next command sees strict ordering.
//
// Documents hold { text: string } (an automerge text object). Positions are
// UTF-16 code units (JS string indexing). Heads are hex change hashes.
//
// "Acknowledged by the server" means: the server peer announced a storageId in
// its `peer` message, and the handle's sync info for that storageId
// (handle.getSyncInfo(storageId).lastHeads, updated on the handle's
// "remote-heads" event, i.e. from the server's sync messages) covers the heads
// we produced. If the server announces no storageId, the peer falls back to
// the synchronizer's "sync-state" events (syncState.theirHeads) and says so in
// the reply ("ack":"sync-state" instead of "ack":"remote-heads").

import { createInterface } from "node:readline"
import { Repo, decodeHeads } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import * as A from "@automerge/automerge"

// automerge-repo reports some errors with console.log: keep stdout clean.
for (const k of ["log", "info", "debug", "warn"]) {
  console[k] = (...args) => console.error(...args)
}

const log = (...args) => console.error("[peer]", ...args)

const url = process.argv[2]
if (!url) {
  log("usage: node peer.mjs ws://HOST:PORT/PATH")
  process.exit(2)
}

const DEFAULT_TIMEOUT_MS = 10_000

// The WebSocket client adapter throws some socket errors (e.g. ECONNRESET)
// from an event handler; log them instead of dying, the adapter reconnects.
process.on("uncaughtException", err => log("uncaught exception:", err?.stack ?? err))
process.on("unhandledRejection", err => log("unhandled rejection:", err?.stack ?? err))

const repo = new Repo({ network: [new WebSocketClientAdapter(url)] })

// ---------------------------------------------------------------- server peer

let serverPeerId = undefined
const peerWaiters = new Set()

repo.networkSubsystem.on("peer", ({ peerId, peerMetadata }) => {
  log("connected to", peerId, JSON.stringify(peerMetadata ?? null))
  serverPeerId = peerId
  for (const w of peerWaiters) w()
  peerWaiters.clear()
  notifyAll()
})
repo.networkSubsystem.on("peer-disconnected", ({ peerId }) => {
  log("disconnected from", peerId)
  if (serverPeerId === peerId) serverPeerId = undefined
})

function serverStorageId() {
  return serverPeerId ? repo.getStorageIdOfPeer(serverPeerId) : undefined
}

// ------------------------------------------------------------------ utilities

function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function whenServerConnected(ms) {
  if (serverPeerId) return Promise.resolve()
  let resolver
  const p = new Promise(resolve => {
    resolver = resolve
    peerWaiters.add(resolve)
  })
  return withTimeout(p, ms, "connection to the server").finally(() => peerWaiters.delete(resolver))
}

// Condition waiters, re-evaluated on any document, sync or connection event.
const waiters = new Set()
function notifyAll() {
  for (const w of [...waiters]) w.check()
}

function waitFor(check, ms, what) {
  return new Promise((resolve, reject) => {
    const w = {
      check() {
        let v
        try {
          v = check()
        } catch (e) {
          done()
          reject(e)
          return
        }
        if (v !== undefined && v !== false) {
          done()
          resolve(v)
        }
      },
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`timeout after ${ms} ms: ${what}`))
    }, ms)
    function done() {
      clearTimeout(timer)
      waiters.delete(w)
    }
    waiters.add(w)
    w.check()
  })
}

// Fallback acknowledgement source: the server's heads as seen by the
// synchronizer, per document, for servers that announce no storageId.
const theirHeadsByDoc = new Map()
repo.synchronizer.on("sync-state", ({ peerId, documentId, syncState }) => {
  if (peerId === serverPeerId && syncState.theirHeads) {
    theirHeadsByDoc.set(documentId, syncState.theirHeads)
    notifyAll()
  }
})

function hexHeads(handle) {
  return A.getHeads(handle.doc())
}

function sameSet(a, b) {
  return a.length === b.length && a.every(x => b.includes(x))
}

// The server's heads for this doc (hex) and where they came from.
function serverHeads(handle) {
  const storageId = serverStorageId()
  if (storageId) {
    const info = handle.getSyncInfo(storageId)
    return { via: "remote-heads", heads: info ? decodeHeads(info.lastHeads) : undefined }
  }
  return { via: "sync-state", heads: theirHeadsByDoc.get(handle.documentId) }
}

// True when the server's heads include (or descend from) every hash in target.
function covers(doc, server, target) {
  if (target.every(h => server.includes(h))) return true
  if (!A.hasHeads(doc, server)) return false // server is ahead; its changes are on their way
  if (!A.hasHeads(doc, target)) return false
  const notCovered = new Set(A.getChangesMetaSince(doc, server).map(c => c.hash))
  return target.every(h => !notCovered.has(h))
}

function waitServerAck(handle, target, ms) {
  return waitFor(
    () => {
      if (!serverPeerId) return false
      const { via, heads } = serverHeads(handle)
      if (!heads) return false
      return covers(handle.doc(), heads, target) ? via : false
    },
    ms,
    `server acknowledgement of ${JSON.stringify(target)}`,
  )
}

// ------------------------------------------------------------------ documents

// docId -> { handle, ephemeral: [{message, senderId}], ephemeralWaiters: [fn] }
const docs = new Map()

function track(handle) {
  let entry = docs.get(handle.documentId)
  if (entry) return entry
  entry = { handle, ephemeral: [], ephemeralWaiters: [] }
  docs.set(handle.documentId, entry)
  handle.on("heads-changed", notifyAll)
  handle.on("remote-heads", notifyAll)
  handle.on("ephemeral-message", ({ senderId, message }) => {
    const item = { message, senderId }
    const waiter = entry.ephemeralWaiters.shift()
    if (waiter) waiter(item)
    else entry.ephemeral.push(item)
  })
  return entry
}

function bareId(docId) {
  if (typeof docId !== "string" || docId.length === 0) throw new Error("missing docId")
  return docId.startsWith("automerge:") ? docId.slice("automerge:".length) : docId
}

async function findEntry(docId, ms) {
  const id = bareId(docId)
  const existing = docs.get(id)
  if (existing && existing.handle.isReady()) return existing
  await whenServerConnected(ms)
  // findWithProgress gives us the handle before it is ready, so that
  // ephemeral messages are buffered from the start.
  const progress = repo.findWithProgress(id)
  const entry = track(progress.handle)
  await withTimeout(repo.find(id), ms, `find ${id}`)
  return entry
}

function textOf(handle) {
  const t = handle.doc()?.text
  return typeof t === "string" ? t : t === undefined ? null : String(t)
}

// ------------------------------------------------------------------- commands

function timeoutOf(cmd) {
  return Number.isFinite(cmd.timeoutMs) ? cmd.timeoutMs : DEFAULT_TIMEOUT_MS
}

const commands = {
  async create(cmd) {
    if (typeof cmd.text !== "string") throw new Error("create needs a string `text`")
    const ms = timeoutOf(cmd)
    await whenServerConnected(ms)
    const handle = repo.create({ text: cmd.text })
    track(handle)
    const target = hexHeads(handle)
    const ack = await waitServerAck(handle, target, ms)
    return { docId: handle.documentId, heads: target, ack }
  },

  // Imports a saved document (`saved`: hex) as automerge-repo's
  // `import` does, and syncs it: a server that has nothing gets the whole
  // history in one message (the saved document).
  async import(cmd) {
    if (typeof cmd.saved !== "string") throw new Error("import needs hex `saved`")
    const ms = timeoutOf(cmd)
    await whenServerConnected(ms)
    const handle = repo.import(new Uint8Array(Buffer.from(cmd.saved, "hex")))
    track(handle)
    const target = hexHeads(handle)
    const ack = await waitServerAck(handle, target, ms)
    return { docId: handle.documentId, heads: target, text: textOf(handle), ack }
  },

  async find(cmd) {
    const { handle } = await findEntry(cmd.docId, timeoutOf(cmd))
    return { text: textOf(handle), heads: hexHeads(handle) }
  },

  async splice(cmd) {
    const ms = timeoutOf(cmd)
    const { handle } = await findEntry(cmd.docId, ms)
    const pos = cmd.pos ?? 0
    const del = cmd.del ?? 0
    const ins = cmd.ins ?? ""
    if (!Number.isInteger(pos) || !Number.isInteger(del) || typeof ins !== "string") {
      throw new Error("splice needs integer pos/del and string ins")
    }
    handle.change(d => {
      A.splice(d, ["text"], pos, del, ins)
    })
    const target = hexHeads(handle)
    const ack = await waitServerAck(handle, target, ms)
    return { heads: target, text: textOf(handle), ack }
  },

  // `count` edits in one synchronous burst (each appends `ins` to the
  // text), as fast typing makes them: automerge-repo sends the first at once
  // and the rest together, several changes in one sync message.
  async edit_burst(cmd) {
    const ms = timeoutOf(cmd)
    const { handle } = await findEntry(cmd.docId, ms)
    const count = cmd.count
    const ins = cmd.ins ?? "x"
    if (!Number.isInteger(count) || count < 1 || typeof ins !== "string") {
      throw new Error("edit_burst needs an integer `count` >= 1 and a string `ins`")
    }
    for (let i = 0; i < count; i++) {
      handle.change(d => {
        A.splice(d, ["text"], d.text.length, 0, ins)
      })
    }
    const target = hexHeads(handle)
    const ack = await waitServerAck(handle, target, ms)
    return { heads: target, text: textOf(handle), ack }
  },

  // Edits made offline, then merged in at once: `count` changes written by
  // `actors` different automerge actors (each on its own copy of the
  // document, as after reloads), appended round-robin. The server receives
  // them all in one sync message.
  async offline_edits(cmd) {
    const ms = timeoutOf(cmd)
    const { handle } = await findEntry(cmd.docId, ms)
    const count = cmd.count
    const actors = cmd.actors ?? 1
    if (!Number.isInteger(count) || !Number.isInteger(actors) || count < 1 || actors < 1) {
      throw new Error("offline_edits needs integers `count` and `actors` >= 1")
    }
    const copies = []
    for (let a = 0; a < actors; a++) copies.push(A.clone(handle.doc()))
    for (let i = 0; i < count; i++) {
      const a = i % actors
      copies[a] = A.change(copies[a], d => {
        A.splice(d, ["text"], d.text.length, 0, String.fromCharCode(97 + a))
      })
    }
    handle.update(doc => copies.reduce((merged, copy) => A.merge(merged, copy), doc))
    const target = hexHeads(handle)
    const ack = await waitServerAck(handle, target, ms)
    return { heads: target, text: textOf(handle), ack }
  },

  async text(cmd) {
    const { handle } = await findEntry(cmd.docId, timeoutOf(cmd))
    return { text: textOf(handle), heads: hexHeads(handle) }
  },

  async wait_heads(cmd) {
    const ms = timeoutOf(cmd)
    const want = cmd.heads
    if (!Array.isArray(want) || !want.every(h => typeof h === "string")) {
      throw new Error("wait_heads needs `heads`: [hex]")
    }
    const { handle } = await findEntry(cmd.docId, ms)
    await waitFor(() => A.hasHeads(handle.doc(), want), ms, `heads ${JSON.stringify(want)}`)
    return { text: textOf(handle), heads: hexHeads(handle) }
  },

  async wait_text(cmd) {
    const ms = timeoutOf(cmd)
    if (typeof cmd.text !== "string") throw new Error("wait_text needs a string `text`")
    const { handle } = await findEntry(cmd.docId, ms)
    try {
      await waitFor(() => textOf(handle) === cmd.text, ms, `text ${JSON.stringify(cmd.text)}`)
    } catch (e) {
      throw new Error(`${e.message}; local text is ${JSON.stringify(textOf(handle))}`)
    }
    return { text: textOf(handle), heads: hexHeads(handle) }
  },

  async broadcast(cmd) {
    const { handle } = await findEntry(cmd.docId, timeoutOf(cmd))
    handle.broadcast(cmd.message)
    return {}
  },

  async wait_ephemeral(cmd) {
    const ms = timeoutOf(cmd)
    const entry = await findEntry(cmd.docId, ms)
    const buffered = entry.ephemeral.shift()
    if (buffered) return buffered
    let waiter
    const p = new Promise(resolve => {
      waiter = resolve
      entry.ephemeralWaiters.push(resolve)
    })
    return await withTimeout(p, ms, "ephemeral message").finally(() => {
      const i = entry.ephemeralWaiters.indexOf(waiter)
      if (i >= 0) entry.ephemeralWaiters.splice(i, 1)
    })
  },

  async peer_id() {
    return { peerId: repo.peerId, serverPeerId: serverPeerId ?? null, serverStorageId: serverStorageId() ?? null }
  },

  async quit() {
    quitting = true
    return {}
  },
}

// ------------------------------------------------------------------ main loop

function jsonReplacer(_key, value) {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString("hex") }
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Map) return Object.fromEntries(value)
  return value
}

function reply(obj) {
  return new Promise(resolve => process.stdout.write(JSON.stringify(obj, jsonReplacer) + "\n", resolve))
}

let quitting = false
let exiting = false
const pending = new Set()

async function shutdown(code) {
  if (exiting) return
  exiting = true
  try {
    await withTimeout(Promise.resolve(repo.shutdown()), 2000, "repo shutdown")
  } catch (e) {
    log("shutdown:", e?.message ?? e)
  }
  process.exit(code)
}

async function handleLine(line) {
  if (line.trim() === "") return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (e) {
    await reply({ ok: false, error: `invalid JSON: ${e.message}` })
    return
  }
  const idPart = cmd && typeof cmd === "object" && "id" in cmd ? { id: cmd.id } : {}
  const fn = cmd && typeof cmd === "object" ? commands[cmd.cmd] : undefined
  if (!fn) {
    await reply({ ...idPart, ok: false, error: `unknown command: ${JSON.stringify(cmd?.cmd)}` })
    return
  }
  try {
    const result = await fn(cmd)
    await reply({ ...idPart, ok: true, ...result })
  } catch (e) {
    await reply({ ...idPart, ok: false, error: String(e?.message ?? e) })
  }
  if (cmd.cmd === "quit") await shutdown(0)
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on("line", line => {
  if (quitting) return
  const p = handleLine(line).finally(() => pending.delete(p))
  pending.add(p)
})
rl.on("close", () => {
  // stdin closed: finish nothing further, just leave cleanly.
  if (!quitting) void shutdown(0)
})
