// Captures real automerge-repo wire frames as CBOR fixtures for Synpunkt's tests.
//
//   node capture-fixtures.mjs [OUT_DIR]     (default: ../fixtures/js)
//
// Part 1 (client frames): a hand-written `ws` server on 127.0.0.1 (random
// port) plays the sync server; a real automerge-repo `Repo` connects to it with
// WebSocketClientAdapter. The first frame of each type the client sends is
// written byte for byte: join.cbor, request.cbor, sync.cbor, ephemeral.cbor.
//
// Part 2 (server frames): a reference automerge-repo server (Repo +
// WebSocketServerAdapter + NodeFSStorageAdapter in a temp dir, sharePolicy
// false) is driven by a raw `ws` client; its answers are written as peer.cbor
// (answer to join) and doc-unavailable.cbor (answer to a request for an
// unknown document).
//
// Finally README.md is (re)written with a decoded view of every fixture.
// Peer and document ids, storage ids and change hashes are random per run.

import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { WebSocketServer, WebSocket } from "ws"
import { Encoder, decode } from "cbor-x"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter, WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"
import * as A from "@automerge/automerge"

const here = dirname(fileURLToPath(import.meta.url))
const outDir = resolve(process.argv[2] ?? join(here, "..", "fixtures", "js"))
mkdirSync(outDir, { recursive: true })

// The same encoder settings automerge-repo uses (helpers/cbor.js).
const encoder = new Encoder({ tagUint8Array: false, useRecords: false })
const encode = obj => encoder.encode(obj)

const TEXT = "Läkemedelsverket 😀 — ATMP"
const CLIENT_PEER_ID = "fixture-client"
const SERVER_PEER_ID = "fixture-server"
// A valid documentId (bs58check of a UUIDv4) that nobody has.
const UNKNOWN_DOC_ID = "4NMNnkMhL8jXrdJ9jamS58PAVdXu"

function withTimeout(promise, ms, what) {
  let t
  return Promise.race([
    promise,
    new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms))),
  ]).finally(() => clearTimeout(t))
}

// ------------------------------------------------ part 1: client-side frames

const captured = {} // type -> Buffer (first frame of that type)
const seenTypes = [] // every frame type the client sent, in order
const frameWaiters = {} // type -> [resolve]

function whenCaptured(type) {
  if (captured[type]) return Promise.resolve(captured[type])
  return new Promise(res => (frameWaiters[type] ??= []).push(res))
}

const serverDocs = new Map() // documentId -> { doc, state } of the fake server
const syncFrames = [] // every sync frame the client sent, in order
const syncWaiters = []
function whenSyncFrames(n) {
  if (syncFrames.length >= n) return Promise.resolve()
  return new Promise(res => {
    const check = () => (syncFrames.length >= n ? res() : syncWaiters.push(check))
    syncWaiters.push(check)
  })
}

const fakeServer = new WebSocketServer({ host: "127.0.0.1", port: 0 })
await new Promise(r => fakeServer.on("listening", r))
const port = fakeServer.address().port

fakeServer.on("connection", socket => {
  socket.on("message", (data, isBinary) => {
    const bytes = Buffer.from(data)
    const msg = decode(bytes)
    seenTypes.push(msg.type)
    if (!captured[msg.type]) {
      captured[msg.type] = bytes
      for (const w of frameWaiters[msg.type] ?? []) w(bytes)
      delete frameWaiters[msg.type]
    }
    if (!isBinary) console.error("warning: text frame from client")
    if (msg.type === "join") {
      socket.send(
        encode({
          type: "peer",
          senderId: SERVER_PEER_ID,
          targetId: msg.senderId,
          peerMetadata: { storageId: "fixture-storage", isEphemeral: false },
          selectedProtocolVersion: "1",
        }),
      )
    } else if (msg.type === "request") {
      socket.send(
        encode({
          type: "doc-unavailable",
          senderId: SERVER_PEER_ID,
          targetId: msg.senderId,
          documentId: msg.documentId,
        }),
      )
    } else if (msg.type === "sync") {
      // Play the server side of the automerge sync protocol so that the
      // client goes on to send its changes (the second sync frame).
      syncFrames.push(bytes)
      for (const w of syncWaiters.splice(0)) w()
      const st = serverDocs.get(msg.documentId) ?? { doc: A.init(), state: A.initSyncState() }
      const [doc, state] = A.receiveSyncMessage(st.doc, st.state, msg.data)
      const [state2, reply] = A.generateSyncMessage(doc, state)
      serverDocs.set(msg.documentId, { doc, state: state2 })
      if (reply) {
        socket.send(
          encode({
            type: "sync",
            senderId: SERVER_PEER_ID,
            targetId: msg.senderId,
            documentId: msg.documentId,
            data: reply,
          }),
        )
      }
    }
    // ephemeral frames are only recorded.
  })
})

const client = new Repo({
  peerId: CLIENT_PEER_ID,
  network: [new WebSocketClientAdapter(`ws://127.0.0.1:${port}/sync`)],
})
const connected = new Promise(res => client.networkSubsystem.once("peer", res))

await withTimeout(whenCaptured("join"), 5000, "join")
await withTimeout(connected, 5000, "peer")

// request: find a document the server does not have.
let findError = null
try {
  await withTimeout(client.find(UNKNOWN_DOC_ID), 5000, "find unknown")
} catch (e) {
  findError = e.message
}
await withTimeout(whenCaptured("request"), 5000, "request")

// sync: create a document, then change it.
const handle = client.create()
handle.change(d => {
  d.text = TEXT
})
await withTimeout(whenCaptured("sync"), 5000, "sync")
await withTimeout(whenSyncFrames(2), 5000, "second sync")

// ephemeral
handle.broadcast({ cursor: 3, name: "Åsa" })
await withTimeout(whenCaptured("ephemeral"), 5000, "ephemeral")

// Let any trailing frames arrive, then shut down.
await new Promise(r => setTimeout(r, 300))
await client.shutdown()
await new Promise(r => fakeServer.close(r))

// ------------------------------------------------ part 2: server-side frames

const storageDir = mkdtempSync(join(tmpdir(), "synpunkt-fixture-"))
const refWss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
await new Promise(r => refWss.on("listening", r))
const refServer = new Repo({
  peerId: "storage-server-fixture",
  network: [new WebSocketServerAdapter(refWss)],
  storage: new NodeFSStorageAdapter(storageDir),
  sharePolicy: async () => false,
})
// The server adapter only starts listening for connections once the repo's
// peer metadata (the storage id, read from storage) has resolved: a client
// that connects earlier is never answered. Wait for that.
await refServer.storageId()
await new Promise(r => setTimeout(r, 50))

const serverFrames = {}
const serverAnswerTypes = [] // what the reference server sent after the request, in order
{
  const ws = new WebSocket(`ws://127.0.0.1:${refWss.address().port}/sync`)
  ws.binaryType = "nodebuffer"
  const frames = []
  let notify
  ws.on("message", data => {
    frames.push(Buffer.from(data))
    notify?.()
  })
  const nextFrame = (ms = 5000) =>
    frames.length
      ? Promise.resolve(frames.shift())
      : withTimeout(new Promise(r => (notify = r)), ms, "server frame").then(() => frames.shift())
  await new Promise((res, rej) => {
    ws.on("open", res)
    ws.on("error", rej)
  })
  ws.send(
    encode({
      type: "join",
      senderId: "raw-client",
      peerMetadata: { isEphemeral: true },
      supportedProtocolVersions: ["1"],
    }),
  )
  serverFrames.peer = await nextFrame()
  const [, syncMsg] = A.generateSyncMessage(A.init(), A.initSyncState())
  ws.send(
    encode({
      type: "request",
      senderId: "raw-client",
      targetId: decode(serverFrames.peer).senderId,
      documentId: UNKNOWN_DOC_ID,
      data: syncMsg,
    }),
  )
  // The reference server does not answer with doc-unavailable right away:
  // record everything it sends until doc-unavailable (or 3 s).
  const deadline = Date.now() + 3000
  while (Date.now() < deadline) {
    let frame
    try {
      frame = await nextFrame(Math.max(1, deadline - Date.now()))
    } catch {
      break
    }
    const type = decode(frame).type
    serverAnswerTypes.push(type)
    if (type === "doc-unavailable") {
      serverFrames["doc-unavailable"] = frame
      break
    }
    if (type === "sync" && !serverFrames["sync-unknown"]) serverFrames["sync-unknown"] = frame
  }
  ws.close()
}
try {
  // Repo.shutdown() flushes every handle and throws "DocHandle is not ready"
  // for the unavailable one: ignore that.
  await refServer.shutdown()
} catch (e) {
  console.error(`reference server shutdown: ${e.message}`)
}
await new Promise(r => refWss.close(r))
rmSync(storageDir, { recursive: true, force: true })

// ---------------------------------------------------------- write fixtures

const fixtures = [
  ["join", captured.join, "client → server"],
  ["request", captured.request, "client → server"],
  ["sync", captured.sync, "client → server"],
  ["sync-changes", syncFrames[1], "client → server"],
  ["ephemeral", captured.ephemeral, "client → server"],
  ["peer", serverFrames.peer, "reference server → client"],
  ["server-sync-empty", serverFrames["sync-unknown"], "reference server → client"],
  ["doc-unavailable", serverFrames["doc-unavailable"], "reference server → client"],
]
for (const [name, bytes] of fixtures) {
  if (!bytes) throw new Error(`no ${name} frame captured`)
  writeFileSync(join(outDir, `${name}.cbor`), bytes)
}

// ------------------------------------------------------------- README view

// A minimal CBOR walker that reports the major type / encoding of every item.
function describe(buf) {
  let pos = 0
  const u8 = () => buf[pos++]
  const WIDTH = { 24: "uint8", 25: "uint16", 26: "uint32", 27: "uint64" }
  // Annotates how an item's argument was encoded when it is not the shortest form.
  function width(ai, value) {
    if (ai < 24 || ai === 31) return ""
    const minimal = value < 24 ? null : value < 256 ? 24 : value < 65536 ? 25 : value < 2 ** 32 ? 26 : 27
    return minimal === ai ? "" : ` [non-minimal: ${WIDTH[ai]} argument]`
  }
  function readArg(ai) {
    if (ai < 24) return ai
    if (ai === 24) return u8()
    if (ai === 25) {
      const v = buf.readUInt16BE(pos)
      pos += 2
      return v
    }
    if (ai === 26) {
      const v = buf.readUInt32BE(pos)
      pos += 4
      return v
    }
    if (ai === 27) {
      const v = buf.readBigUInt64BE(pos)
      pos += 8
      return Number(v)
    }
    if (ai === 31) return null // indefinite
    throw new Error(`bad additional info ${ai}`)
  }
  function headerHex(ib, ai) {
    const len = ai < 24 || ai === 31 ? 0 : 2 ** (ai - 24)
    return Buffer.from(buf.subarray(pos - 1 - len, pos)).toString("hex")
  }
  function item(indent) {
    const ib = u8()
    const major = ib >> 5
    const ai = ib & 31
    const pad = "  ".repeat(indent)
    switch (major) {
      case 0: {
        const n = readArg(ai)
        return { text: `uint ${n}${width(ai, n)}`, major }
      }
      case 1:
        return { text: `nint ${-1 - readArg(ai)}`, major }
      case 2: {
        const n = readArg(ai)
        const bytes = buf.subarray(pos, pos + n)
        pos += n
        const hex = Buffer.from(bytes).toString("hex")
        return { text: `bytes(${n})${width(ai, n)} ${hex.length > 64 ? hex.slice(0, 64) + "…" : hex}`, major }
      }
      case 3: {
        const n = readArg(ai)
        const s = buf.subarray(pos, pos + n).toString("utf8")
        pos += n
        return { text: `text${width(ai, n)} ${JSON.stringify(s)}`, major }
      }
      case 4: {
        const n = readArg(ai)
        const lines = [`array(${n ?? "indefinite"})${width(ai, n)} (header ${headerHex(ib, ai)})`]
        for (let i = 0; n === null ? buf[pos] !== 0xff : i < n; i++) {
          const v = item(indent + 1)
          lines.push(`${pad}  - ${v.text}`)
        }
        if (n === null) pos++
        return { text: lines.join("\n"), major }
      }
      case 5: {
        const n = readArg(ai)
        const lines = [`map(${n ?? "indefinite"})${width(ai, n)} (header ${headerHex(ib, ai)})`]
        for (let i = 0; n === null ? buf[pos] !== 0xff : i < n; i++) {
          const k = item(indent + 1)
          const v = item(indent + 1)
          lines.push(`${pad}  ${k.text}: ${v.text}`)
        }
        if (n === null) pos++
        return { text: lines.join("\n"), major }
      }
      case 6: {
        const tag = readArg(ai)
        const v = item(indent)
        return { text: `tag(${tag}) ${v.text}`, major }
      }
      case 7: {
        if (ai === 20) return { text: "false", major }
        if (ai === 21) return { text: "true", major }
        if (ai === 22) return { text: "null", major }
        if (ai === 23) return { text: "undefined (simple 23, 0xf7)", major }
        if (ai === 25) {
          const v = buf.readUInt16BE(pos)
          pos += 2
          return { text: `float16 raw 0x${v.toString(16)}`, major }
        }
        if (ai === 26) {
          const v = buf.readFloatBE(pos)
          pos += 4
          return { text: `float32 ${v}`, major }
        }
        if (ai === 27) {
          const v = buf.readDoubleBE(pos)
          pos += 8
          return { text: `float64 ${v}`, major }
        }
        return { text: `simple ${ai}`, major }
      }
    }
  }
  const out = item(0).text
  if (pos !== buf.length) throw new Error(`trailing bytes: ${buf.length - pos}`)
  return out
}

function plain(v) {
  if (v === undefined) return "<undefined>"
  if (v instanceof Uint8Array) {
    const hex = Buffer.from(v).toString("hex")
    return `<${v.length} bytes: ${hex.length > 64 ? hex.slice(0, 64) + "…" : hex}>`
  }
  if (Array.isArray(v)) return v.map(plain)
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  return v
}

function jsonView(buf) {
  return JSON.stringify(plain(decode(buf)), null, 2)
}

function syncView(data) {
  const m = A.decodeSyncMessage(data)
  return JSON.stringify(
    {
      heads: m.heads,
      need: m.need,
      have: m.have.map(h => ({ lastSync: h.lastSync, bloomBytes: h.bloom.length })),
      changes: m.changes.map(c => {
        // Automerge chunk: magic 85 6f 4a 83, 4-byte checksum, then the chunk
        // type: 0 = whole document, 1 = change, 2 = deflated change.
        const chunkType = { 0: "document", 1: "change", 2: "compressed change" }[c[8]] ?? `unknown ${c[8]}`
        if (chunkType !== "change" && chunkType !== "compressed change") return { chunkType, bytes: c.length }
        const d = A.decodeChange(c)
        return { chunkType, hash: d.hash, seq: d.seq, deps: d.deps, ops: d.ops.length, bytes: c.length }
      }),
    },
    null,
    2,
  )
}

const sections = fixtures.map(([name, bytes, dir]) => {
  const msg = decode(bytes)
  let extra = ""
  if (msg.data && (msg.type === "sync" || msg.type === "request")) {
    extra = `\nThe \`data\` field decoded as an automerge sync message:\n\n\`\`\`json\n${syncView(msg.data)}\n\`\`\`\n`
  } else if (msg.data && msg.type === "ephemeral") {
    extra = `\nThe \`data\` field is itself CBOR (the broadcast payload):\n\n\`\`\`\n${describe(Buffer.from(msg.data))}\n\`\`\`\n\nDecoded: \`${JSON.stringify(decode(msg.data))}\`\n`
  }
  return `### \`${name}.cbor\` (${dir}, ${bytes.length} bytes)

CBOR structure, keys in wire order:

\`\`\`
${describe(bytes)}
\`\`\`

Decoded with cbor-x (JSON view):

\`\`\`json
${jsonView(bytes)}
\`\`\`
${extra}`
})

const readme = `# automerge-repo wire fixtures (generated)

Real frames produced by automerge-repo 2.5.6 (\`@automerge/automerge-repo-network-websocket\`
2.5.6, \`@automerge/automerge\` 3.5.0, \`cbor-x\` 1.6.9), each file one binary WebSocket
message exactly as received. Regenerate with:

    cd tests/js && npm install --no-audit --no-fund && node capture-fixtures.mjs

Ids, storage ids and hashes are random per run; this README is rewritten by the same run.

How they were produced (see \`capture-fixtures.mjs\`):

- Client frames: a hand-written \`ws\` server on 127.0.0.1 plays the sync server; a real
  \`Repo\` (peerId \`${CLIENT_PEER_ID}\`, no storage, so \`isEphemeral: true\` and no
  storageId) connects with \`WebSocketClientAdapter\`. The fake server answers \`join\`
  with \`{type:"peer", senderId:"${SERVER_PEER_ID}", targetId, peerMetadata:{storageId:"fixture-storage",
  isEphemeral:false}, selectedProtocolVersion:"1"}\` and answers \`request\` with \`doc-unavailable\`.
  - \`join.cbor\`: the first frame on connect.
  - \`request.cbor\`: \`repo.find("${UNKNOWN_DOC_ID}")\` (a valid but unknown id). find rejected with: \`${findError}\`.
  - \`sync.cbor\`: \`repo.create()\` then \`handle.change(d => { d.text = ${JSON.stringify(TEXT)} })\`; the
    first frame sent for that document (heads and a bloom filter, no changes yet). The fake
    server answers every \`sync\` like a server would (automerge \`receiveSyncMessage\` +
    \`generateSyncMessage\` on its own copy).
  - \`sync-changes.cbor\`: the client's second \`sync\` for that document, sent after the
    fake server's first answer; it carries the change(s).
  - \`ephemeral.cbor\`: \`handle.broadcast({cursor: 3, name: "Åsa"})\`.
  - Every frame type the client sent, in order: \`${seenTypes.join(", ")}\`.
- Server frames: the reference server (\`Repo\` + \`WebSocketServerAdapter\` +
  \`NodeFSStorageAdapter\`, peerId \`storage-server-fixture\`, \`sharePolicy: async () => false\`)
  driven by a raw \`ws\` client that sends a hand-encoded \`join\` (senderId \`raw-client\`) and
  then a \`request\` for the unknown id.
  - \`peer.cbor\`: its answer to \`join\`.
  - Its answers to the \`request\`, in order: \`${serverAnswerTypes.join(", ")}\`. The \`sync\`
    (from the server's still-empty document) is \`server-sync-empty.cbor\`, then
    \`doc-unavailable.cbor\`. A JS client's \`find\` fails only on the \`doc-unavailable\`.

Notes for decoders:

- Every map, including nested ones (\`peerMetadata\`, the ephemeral payload), is written by
  cbor-x with a non-minimal 16-bit length header (\`b9 00 NN\`); strings and byte strings
  use minimal lengths. Accept non-minimal lengths.
- \`join\` from a storage-less client carries \`peerMetadata.storageId\` = CBOR \`undefined\`
  (0xf7). Treat \`undefined\` like an absent key.
- No floats appear in these frames: \`count\` is a CBOR uint. No tags appear.
- Key order is not fixed: \`senderId\` is appended last by the NetworkSubsystem on
  \`request\`/\`sync\`/\`ephemeral\`/\`doc-unavailable\`, but comes second on \`join\`/\`peer\`
  (where \`targetId\` is last). Decode by key.
- The automerge sync payloads (\`data\`) start with 0x42 (automerge sync message V1:
  \`request.cbor\`, \`sync.cbor\`, a peer's first messages) or 0x43 (V2, used once the other
  side's message showed it understands V2: \`sync-changes.cbor\`, \`server-sync-empty.cbor\`).
  In these V2 messages \`changes\` holds one whole-document chunk (chunk type 0), not
  individual changes. Feed \`data\` to automerge's own sync-message decoder.

## Fixtures

${sections.join("\n")}`

writeFileSync(join(outDir, "README.md"), readme)
console.error(`wrote ${fixtures.map(f => f[0] + ".cbor").join(", ")}, README.md to ${outDir}`)
console.error(`client frame types in order: ${seenTypes.join(", ")}`)
console.error(`reference server's answers to the request: ${serverAnswerTypes.join(", ")}`)
process.exit(0)
