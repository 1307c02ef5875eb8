//! The PostgreSQL [`Store`] (`--store postgres://…`): what several nodes
//! share.
//!
//! Schema: `server/migrations/*.sql`, applied in order at open, each in
//! one transaction, recorded in `schema_migrations` (an advisory lock lets
//! several nodes start at once). Chunks live in `chunks` under their
//! content hash; each [`Table`] is a table of its own with typed key
//! columns and the record as jsonb (see [`spec`]).
//!
//! **Acknowledge after commit.** Writes (appends, compactions, puts,
//! deletes) are buffered in order and committed by [`Store::flush`] in one
//! transaction, so the group commit's one flush is one commit for many
//! changes. Reads see this process's own buffered writes: the database's
//! rows with the buffer applied on top. A failed commit keeps its writes
//! buffered (before newer ones) and the next flush tries them again; every
//! write is idempotent, so one that committed after all does no harm.
//! Actor bindings are the exception: [`Store::bind_actor`] commits at once,
//! since the primary key decides between racing nodes.
//!
//! The trait is blocking and the server calls it from its async tasks, so
//! the store runs tokio-postgres on a small runtime of its own and waits on
//! a channel, with a timeout on every call. The pool replaces connections
//! that a database restart broke: the node recovers by itself.

use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use docsync::DocumentId;
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use super::{ChunkKey, ClusterEvent, Record, Store, StoreError, StoredDoc, Table};

/// The migrations, in the order they are applied (never edit one that has
/// shipped: add the next).
const MIGRATIONS: &[(i32, &str)] = &[(1, include_str!("../../migrations/0001_initial.sql"))];

/// How long any one call may wait for the database.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the health probe waits.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// Taken by every node while it migrates (an arbitrary constant: "SYNP").
const MIGRATION_LOCK: i64 = 0x5359_4e50;
/// Held by a node during its first-start setup ("SYNS").
const SETUP_LOCK: i64 = 0x5359_4e53;

/// The channels nodes notify each other on (see [`ClusterEvent`]).
const CHUNKS_CHANNEL: &str = "synpunkt_chunks";
const EPHEMERAL_CHANNEL: &str = "synpunkt_ephemeral";
const ACCESS_CHANNEL: &str = "synpunkt_access";
/// PostgreSQL refuses payloads of 8000 bytes or more: a longer list of
/// chunk keys is sent as "*" (read every chunk not known).
const MAX_PAYLOAD: usize = 7900;
/// Ephemeral frames larger than this (before base64) are not sent to other
/// nodes: ephemeral messages are best effort.
const MAX_EPHEMERAL_FRAME: usize = 5000;
/// How long the listening connection waits before connecting again.
const LISTEN_RETRY: Duration = Duration::from_millis(250);

/// A write waiting for the next flush.
#[derive(Debug)]
enum Op {
    Append {
        doc: DocumentId,
        key: ChunkKey,
        bytes: Vec<u8>,
    },
    Compact {
        doc: DocumentId,
        key: ChunkKey,
        bytes: Vec<u8>,
        merged: Vec<ChunkKey>,
    },
    Put {
        table: Table,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        table: Table,
        key: Vec<u8>,
    },
    Meta {
        key: String,
        value: Vec<u8>,
    },
}

/// Writes not yet committed, in the order they were made.
#[derive(Debug, Default)]
struct Buffer {
    /// Taken by the flush that is committing them.
    in_flight: Vec<Arc<Op>>,
    /// Made since.
    pending: Vec<Arc<Op>>,
}

impl Buffer {
    fn ops(&self) -> impl Iterator<Item = &Arc<Op>> {
        self.in_flight.iter().chain(&self.pending)
    }
}

pub struct PgStore {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    pool: Pool,
    buffer: Mutex<Buffer>,
    /// Readers hold it across their database read and their look at the
    /// buffer; a flush holds it exclusively while it commits and clears
    /// its writes from the buffer. So a read sees a flush's writes either
    /// in the buffer or in the database, never in neither.
    gate: RwLock<()>,
    /// One flush at a time (the group commit's thread, and start-up).
    flushing: Mutex<()>,
    /// Where the database is (for connections outside the pool: the
    /// listening one, the setup lock's).
    config: tokio_postgres::Config,
    /// This process's id among the nodes (random at each start): the
    /// sender of its notifications, so that it ignores its own.
    node_id: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Postgres(e.to_string())
}

/// A database error with its detail (tokio-postgres's Display alone says
/// only "db error").
fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(d) => StoreError::Postgres(format!("{}: {}", d.code().code(), d.message())),
        None => db(e),
    }
}

/// The type of a column.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Bytes,
    Text,
    Json,
}

/// A table's columns: its key columns (one, or a 16-byte document id and
/// the rest of the key) and its value column.
#[derive(Debug)]
struct Spec {
    name: &'static str,
    keys: &'static [(&'static str, Kind)],
    value: (&'static str, Kind),
}

/// How each [`Table`] is laid out (see the migrations).
fn spec(table: Table) -> Spec {
    use Kind::*;
    let (name, keys, value): (_, &'static [(&'static str, Kind)], _) = match table {
        Table::Workshops => ("workshops", &[("id", Bytes)], ("record", Json)),
        Table::Users => ("users", &[("id", Text)], ("record", Json)),
        Table::Sessions => ("sessions", &[("token_hash", Bytes)], ("record", Json)),
        Table::Invites => ("invites", &[("token_hash", Bytes)], ("record", Json)),
        Table::Memberships => (
            "memberships",
            &[("workshop", Bytes), ("user_id", Text)],
            ("record", Json),
        ),
        Table::Actors => ("actors", &[("actor", Bytes)], ("user_id", Text)),
        Table::Drafts => ("drafts", &[("id", Bytes)], ("record", Json)),
        Table::EditActors => ("edit_actors", &[("user_id", Text)], ("actor", Bytes)),
        Table::Unreadable => (
            "unreadable",
            &[("doc", Bytes), ("hash", Bytes)],
            ("chunk", Bytes),
        ),
        Table::Series => ("series", &[("id", Text)], ("record", Json)),
    };
    Spec { name, keys, value }
}

type Param = Box<dyn ToSql + Sync + Send>;

fn param(table: Table, kind: Kind, bytes: &[u8], what: &'static str) -> Result<Param, StoreError> {
    Ok(match kind {
        Kind::Bytes => Box::new(bytes.to_vec()),
        Kind::Text => {
            Box::new(
                String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::InvalidKey {
                    table: table.name(),
                    reason: what,
                })?,
            )
        }
        Kind::Json => Box::new(serde_json::from_slice::<serde_json::Value>(bytes).map_err(
            |_| StoreError::InvalidKey {
                table: table.name(),
                reason: "the record is not JSON",
            },
        )?),
    })
}

/// A key as the values of its columns.
fn key_params(table: Table, key: &[u8]) -> Result<Vec<Param>, StoreError> {
    let spec = spec(table);
    match spec.keys {
        [(_, kind)] => Ok(vec![param(table, *kind, key, "the key is not UTF-8")?]),
        [(_, first), (_, rest)] => {
            if key.len() < 16 {
                return Err(StoreError::InvalidKey {
                    table: table.name(),
                    reason: "shorter than a document id",
                });
            }
            Ok(vec![
                param(table, *first, &key[..16], "")?,
                param(table, *rest, &key[16..], "the key is not UTF-8")?,
            ])
        }
        _ => unreachable!("every table has one or two key columns"),
    }
}

fn value_param(table: Table, value: &[u8]) -> Result<Param, StoreError> {
    param(table, spec(table).value.1, value, "the value is not UTF-8")
}

/// Column `i` of `row` as the bytes the store's callers use.
fn column(row: &tokio_postgres::Row, i: usize, kind: Kind) -> Result<Vec<u8>, StoreError> {
    Ok(match kind {
        Kind::Bytes => row.try_get::<_, Vec<u8>>(i).map_err(pg)?,
        Kind::Text => row.try_get::<_, String>(i).map_err(pg)?.into_bytes(),
        Kind::Json => {
            serde_json::to_vec(&row.try_get::<_, serde_json::Value>(i).map_err(pg)?).map_err(db)?
        }
    })
}

fn where_keys(spec: &Spec) -> String {
    spec.keys
        .iter()
        .enumerate()
        .map(|(i, (col, _))| format!("{col} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// One buffered write as one statement of the flush's transaction.
async fn execute(client: &deadpool_postgres::Transaction<'_>, op: &Op) -> Result<(), StoreError> {
    match op {
        Op::Append { doc, key, bytes } => {
            let sql = "INSERT INTO chunks (doc, key, kind, bytes) \
                       VALUES ($1, $2, 'incremental', $3) ON CONFLICT (doc, key) DO NOTHING";
            let stmt = client.prepare_cached(sql).await.map_err(pg)?;
            client
                .execute(&stmt, &[&doc.as_bytes().as_slice(), &key.0, bytes])
                .await
                .map_err(pg)?;
        }
        Op::Compact {
            doc,
            key,
            bytes,
            merged,
        } => {
            // One statement: delete exactly what was merged (never the
            // snapshot itself), store the snapshot.
            let sql = "WITH merged AS (DELETE FROM chunks \
                         WHERE doc = $1 AND key = ANY($2) AND key <> $3) \
                       INSERT INTO chunks (doc, key, kind, bytes) \
                       VALUES ($1, $3, 'snapshot', $4) \
                       ON CONFLICT (doc, key) DO UPDATE SET kind = 'snapshot'";
            let stmt = client.prepare_cached(sql).await.map_err(pg)?;
            let merged: Vec<&[u8]> = merged.iter().map(|k| k.0.as_slice()).collect();
            client
                .execute(&stmt, &[&doc.as_bytes().as_slice(), &merged, &key.0, bytes])
                .await
                .map_err(pg)?;
        }
        Op::Put { table, key, value } => {
            let spec = spec(*table);
            let cols: Vec<&str> = spec.keys.iter().map(|(c, _)| *c).collect();
            let n = cols.len();
            let placeholders: Vec<String> = (1..=n + 1).map(|i| format!("${i}")).collect();
            // A binding never changes owner (see bind_actor).
            let on_conflict = if *table == Table::Actors {
                "DO NOTHING".to_owned()
            } else {
                format!("DO UPDATE SET {0} = EXCLUDED.{0}", spec.value.0)
            };
            let sql = format!(
                "INSERT INTO {} ({}, {}) VALUES ({}) ON CONFLICT ({}) {on_conflict}",
                spec.name,
                cols.join(", "),
                spec.value.0,
                placeholders.join(", "),
                cols.join(", "),
            );
            let mut params = key_params(*table, key)?;
            params.push(value_param(*table, value)?);
            let stmt = client.prepare_cached(&sql).await.map_err(pg)?;
            client.execute(&stmt, &refs(&params)).await.map_err(pg)?;
        }
        Op::Delete { table, key } => {
            let spec = spec(*table);
            let sql = format!("DELETE FROM {} WHERE {}", spec.name, where_keys(&spec));
            let params = key_params(*table, key)?;
            let stmt = client.prepare_cached(&sql).await.map_err(pg)?;
            client.execute(&stmt, &refs(&params)).await.map_err(pg)?;
        }
        Op::Meta { key, value } => {
            let sql = "INSERT INTO meta (key, value) VALUES ($1, $2) \
                       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";
            let stmt = client.prepare_cached(sql).await.map_err(pg)?;
            client.execute(&stmt, &[key, value]).await.map_err(pg)?;
        }
    }
    Ok(())
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies the
    /// migrations that are missing.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Postgres(format!("the store URL is not valid: {e}")))?;
        config.connect_timeout(Duration::from_secs(2));
        config.application_name("synpunkt");
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                // A connection the database closed is noticed and replaced.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("synpunkt-pg")
            .enable_all()
            .build()
            .map_err(db)?;
        let timeout = Some(Duration::from_secs(2));
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(timeout)
            .create_timeout(timeout)
            .recycle_timeout(timeout)
            .build()
            .map_err(db)?;
        let store = Self {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            pool,
            buffer: Mutex::default(),
            gate: RwLock::new(()),
            flushing: Mutex::new(()),
            config,
            node_id: hex::encode(rand::random::<[u8; 8]>()),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Runs `fut` on the store's runtime and waits for it (at most
    /// [`CALL_TIMEOUT`]). Works from inside another runtime's task: it only
    /// blocks this thread, like sled's disk IO does.
    fn block<T: Send + 'static>(
        &self,
        timeout: Duration,
        fut: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(tokio::time::timeout(timeout, fut).await);
        });
        match rx.recv() {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StoreError::Timeout(timeout)),
            Err(_) => Err(StoreError::Closed),
        }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        self.block(Duration::from_secs(60), async move {
            let mut client = pool.get().await.map_err(db)?;
            {
                let tx = client.transaction().await.map_err(pg)?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                    .await
                    .map_err(pg)?;
                tx.batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (\
                       version integer PRIMARY KEY, \
                       applied_at timestamptz NOT NULL DEFAULT now())",
                )
                .await
                .map_err(pg)?;
                tx.commit().await.map_err(pg)?;
            }
            for (version, sql) in MIGRATIONS {
                let tx = client.transaction().await.map_err(pg)?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                    .await
                    .map_err(pg)?;
                let applied = tx
                    .query_opt(
                        "SELECT 1 FROM schema_migrations WHERE version = $1",
                        &[version],
                    )
                    .await
                    .map_err(pg)?
                    .is_some();
                if !applied {
                    tx.batch_execute(sql).await.map_err(|e| {
                        StoreError::Postgres(format!("migration {version} failed: {}", pg(e)))
                    })?;
                    tx.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)",
                        &[version],
                    )
                    .await
                    .map_err(pg)?;
                    tracing::info!(version, "applied a database migration");
                }
                tx.commit().await.map_err(pg)?;
            }
            Ok(())
        })
    }

    fn push(&self, op: Op) {
        lock(&self.buffer).pending.push(Arc::new(op));
    }

    /// The buffered writes, oldest first (a snapshot: cheap, the ops are
    /// shared).
    fn buffered(&self) -> Vec<Arc<Op>> {
        lock(&self.buffer).ops().cloned().collect()
    }

    fn read_gate(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is refused inside another
        // runtime's task: let its threads wind down in the background.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Store for PgStore {
    fn load(&self, doc: &DocumentId) -> Result<Option<StoredDoc>, StoreError> {
        let _gate = self.read_gate();
        let pool = self.pool.clone();
        let id = doc.as_bytes().to_vec();
        let rows = self.block(CALL_TIMEOUT, async move {
            let client = pool.get().await.map_err(db)?;
            let stmt = client
                .prepare_cached("SELECT key, bytes FROM chunks WHERE doc = $1 ORDER BY key")
                .await
                .map_err(pg)?;
            let rows = client.query(&stmt, &[&id]).await.map_err(pg)?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get::<_, Vec<u8>>(0).map_err(pg)?,
                        r.try_get::<_, Vec<u8>>(1).map_err(pg)?,
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        let mut chunks: std::collections::BTreeMap<ChunkKey, Vec<u8>> =
            rows.into_iter().map(|(k, v)| (ChunkKey(k), v)).collect();
        for op in self.buffered() {
            match op.as_ref() {
                Op::Append { doc: d, key, bytes } if d == doc => {
                    chunks.insert(key.clone(), bytes.clone());
                }
                Op::Compact {
                    doc: d,
                    key,
                    bytes,
                    merged,
                } if d == doc => {
                    for m in merged {
                        chunks.remove(m);
                    }
                    chunks.insert(key.clone(), bytes.clone());
                }
                _ => {}
            }
        }
        if chunks.is_empty() {
            return Ok(None);
        }
        let (keys, chunks) = chunks.into_iter().unzip();
        Ok(Some(StoredDoc { chunks, keys }))
    }

    fn append(&self, doc: &DocumentId, chunk: &[u8]) -> Result<ChunkKey, StoreError> {
        let key = ChunkKey::of(chunk);
        self.push(Op::Append {
            doc: *doc,
            key: key.clone(),
            bytes: chunk.to_vec(),
        });
        Ok(key)
    }

    fn compact(
        &self,
        doc: &DocumentId,
        snapshot: &[u8],
        merged: &[ChunkKey],
    ) -> Result<ChunkKey, StoreError> {
        let key = ChunkKey::of(snapshot);
        self.push(Op::Compact {
            doc: *doc,
            key: key.clone(),
            bytes: snapshot.to_vec(),
            merged: merged.iter().filter(|m| **m != key).cloned().collect(),
        });
        Ok(key)
    }

    fn flush(&self) -> Result<(), StoreError> {
        let _one = lock(&self.flushing);
        let ops = {
            let mut buffer = lock(&self.buffer);
            let pending = std::mem::take(&mut buffer.pending);
            buffer.in_flight = pending;
            buffer.in_flight.clone()
        };
        if ops.is_empty() {
            return Ok(());
        }
        let notices = chunk_notices(&self.node_id, &ops);
        let pool = self.pool.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<()>(1);
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let transaction = async move {
                let mut client = pool.get().await.map_err(db)?;
                let tx = client.transaction().await.map_err(pg)?;
                // Pipelined: tokio-postgres sends the statements in this
                // order without waiting for each answer.
                futures_util::future::try_join_all(ops.iter().map(|op| execute(&tx, op))).await?;
                // Delivered by PostgreSQL only if (and once) this commits.
                for payload in &notices {
                    tx.execute("SELECT pg_notify($1, $2)", &[&CHUNKS_CHANNEL, payload])
                        .await
                        .map_err(pg)?;
                }
                let _ = ready_tx.send(());
                go_rx.await.map_err(|_| StoreError::Closed)?;
                tx.commit().await.map_err(pg)
            };
            let result = tokio::time::timeout(CALL_TIMEOUT, transaction)
                .await
                .unwrap_or(Err(StoreError::Timeout(CALL_TIMEOUT)));
            let _ = done_tx.send(result);
        });
        // The transaction runs up to its COMMIT; the commit waits until this
        // thread holds the gate exclusively, so that no reader finds the
        // writes neither in the buffer nor in the database. (`ready_tx` is
        // dropped unsent when the transaction fails first.)
        let result = if ready_rx.recv().is_ok() {
            let _gate = self
                .gate
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = go_tx.send(());
            let result = done_rx.recv().unwrap_or(Err(StoreError::Closed));
            if result.is_ok() {
                lock(&self.buffer).in_flight.clear();
            }
            result
        } else {
            done_rx.recv().unwrap_or(Err(StoreError::Closed))
        };
        if result.is_err() {
            // Kept for the next flush, before what was written since.
            let mut buffer = lock(&self.buffer);
            let mut ops = std::mem::take(&mut buffer.in_flight);
            ops.append(&mut buffer.pending);
            buffer.pending = ops;
        }
        result
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let _gate = self.read_gate();
        let spec = spec(table);
        let params = key_params(table, key)?;
        let pool = self.pool.clone();
        let kind = spec.value.1;
        let sql = format!(
            "SELECT {} FROM {} WHERE {}",
            spec.value.0,
            spec.name,
            where_keys(&spec)
        );
        let stored = self.block(CALL_TIMEOUT, async move {
            let client = pool.get().await.map_err(db)?;
            let stmt = client.prepare_cached(&sql).await.map_err(pg)?;
            match client.query_opt(&stmt, &refs(&params)).await.map_err(pg)? {
                Some(row) => Ok(Some(column(&row, 0, kind)?)),
                None => Ok(None),
            }
        })?;
        let mut value = stored;
        for op in self.buffered() {
            match op.as_ref() {
                Op::Put {
                    table: t,
                    key: k,
                    value: v,
                    // A binding never changes owner.
                } if *t == table && k == key && !(table == Table::Actors && value.is_some()) => {
                    value = Some(v.clone());
                }
                Op::Delete { table: t, key: k } if *t == table && k == key => value = None,
                _ => {}
            }
        }
        Ok(value)
    }

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        // Refused now, not at the commit (where it would fail every flush).
        key_params(table, key)?;
        value_param(table, value)?;
        self.push(Op::Put {
            table,
            key: key.to_vec(),
            value: value.to_vec(),
        });
        Ok(())
    }

    fn delete(&self, table: Table, key: &[u8]) -> Result<(), StoreError> {
        key_params(table, key)?;
        self.push(Op::Delete {
            table,
            key: key.to_vec(),
        });
        Ok(())
    }

    fn bind_actor(&self, actor: &[u8], user: &str) -> Result<String, StoreError> {
        // A binding still in the buffer (the server's own actor of a new
        // workshop) decides first; otherwise the primary key decides, at
        // once and for every node.
        if let Some(owner) = self.get(Table::Actors, actor)? {
            return Ok(String::from_utf8_lossy(&owner).into_owned());
        }
        let pool = self.pool.clone();
        let (actor, user) = (actor.to_vec(), user.to_owned());
        self.block(CALL_TIMEOUT, async move {
            let client = pool.get().await.map_err(db)?;
            // The insert of a racing node that committed after this
            // statement's snapshot is not visible to a SELECT in the same
            // statement: ask again in a new one.
            for _ in 0..3 {
                let inserted = client
                    .query_opt(
                        "INSERT INTO actors (actor, user_id) VALUES ($1, $2) \
                         ON CONFLICT (actor) DO NOTHING RETURNING user_id",
                        &[&actor, &user],
                    )
                    .await
                    .map_err(pg)?;
                if let Some(row) = inserted {
                    return row.try_get::<_, String>(0).map_err(pg);
                }
                let owner = client
                    .query_opt("SELECT user_id FROM actors WHERE actor = $1", &[&actor])
                    .await
                    .map_err(pg)?;
                if let Some(row) = owner {
                    return row.try_get::<_, String>(0).map_err(pg);
                }
            }
            Err(StoreError::Postgres(
                "the actor binding changed three times while binding".into(),
            ))
        })
    }

    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Vec<Record>, StoreError> {
        let _gate = self.read_gate();
        let spec = spec(table);
        let cols: Vec<&str> = spec.keys.iter().map(|(c, _)| *c).collect();
        let kinds: Vec<Kind> = spec.keys.iter().map(|(_, k)| *k).collect();
        let value_kind = spec.value.1;
        // A document id prefix of a two-column key selects by its first
        // column; any other prefix is filtered here.
        let (sql, params): (String, Vec<Param>) = if cols.len() == 2 && prefix.len() == 16 {
            (
                format!(
                    "SELECT {}, {} FROM {} WHERE {} = $1",
                    cols.join(", "),
                    spec.value.0,
                    spec.name,
                    cols[0]
                ),
                vec![Box::new(prefix.to_vec())],
            )
        } else {
            (
                format!(
                    "SELECT {}, {} FROM {}",
                    cols.join(", "),
                    spec.value.0,
                    spec.name
                ),
                Vec::new(),
            )
        };
        let pool = self.pool.clone();
        let rows = self.block(CALL_TIMEOUT, async move {
            let client = pool.get().await.map_err(db)?;
            let stmt = client.prepare_cached(&sql).await.map_err(pg)?;
            let rows = client.query(&stmt, &refs(&params)).await.map_err(pg)?;
            rows.iter()
                .map(|row| {
                    let mut key = Vec::new();
                    for (i, kind) in kinds.iter().enumerate() {
                        key.extend(column(row, i, *kind)?);
                    }
                    Ok((key, column(row, kinds.len(), value_kind)?))
                })
                .collect::<Result<Vec<Record>, StoreError>>()
        })?;
        let mut records: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = rows
            .into_iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .collect();
        for op in self.buffered() {
            match op.as_ref() {
                Op::Put {
                    table: t,
                    key,
                    value,
                } if *t == table && key.starts_with(prefix) => {
                    if table == Table::Actors {
                        records.entry(key.clone()).or_insert_with(|| value.clone());
                    } else {
                        records.insert(key.clone(), value.clone());
                    }
                }
                Op::Delete { table: t, key } if *t == table => {
                    records.remove(key);
                }
                _ => {}
            }
        }
        Ok(records.into_iter().collect())
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let _gate = self.read_gate();
        let pool = self.pool.clone();
        let k = key.to_owned();
        let mut value = self.block(CALL_TIMEOUT, async move {
            let client = pool.get().await.map_err(db)?;
            let row = client
                .query_opt("SELECT value FROM meta WHERE key = $1", &[&k])
                .await
                .map_err(pg)?;
            row.map(|r| r.try_get::<_, Vec<u8>>(0).map_err(pg))
                .transpose()
        })?;
        for op in self.buffered() {
            if let Op::Meta { key: k, value: v } = op.as_ref()
                && k == key
            {
                value = Some(v.clone());
            }
        }
        Ok(value)
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.push(Op::Meta {
            key: key.to_owned(),
            value: value.to_vec(),
        });
        Ok(())
    }

    fn health(&self) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        self.block(HEALTH_TIMEOUT, async move {
            let client = pool.get().await.map_err(db)?;
            client.simple_query("SELECT 1").await.map_err(pg)?;
            Ok(())
        })
    }

    fn recovers(&self) -> bool {
        true
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<ClusterEvent>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut config = self.config.clone();
        // Found by this name (and pid) in pg_stat_activity.
        config.application_name(format!("synpunkt-listen-{}", std::process::id()));
        self.handle.spawn(listen(config, self.node_id.clone(), tx));
        Some(rx)
    }

    fn publish(&self, event: &ClusterEvent) {
        let Some((channel, payload)) = notice(&self.node_id, event) else {
            return;
        };
        let pool = self.pool.clone();
        self.handle.spawn(async move {
            let sent = async {
                let client = pool.get().await.map_err(db)?;
                client
                    .execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
                    .await
                    .map_err(pg)
            };
            match tokio::time::timeout(CALL_TIMEOUT, sent).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, channel, "could not notify the other nodes")
                }
                Err(_) => tracing::warn!(channel, "notifying the other nodes timed out"),
            }
        });
    }

    fn chunks_not_in(
        &self,
        doc: &DocumentId,
        known: &std::collections::HashSet<ChunkKey>,
        hint: Option<&[ChunkKey]>,
    ) -> Result<Vec<(ChunkKey, Vec<u8>)>, StoreError> {
        let pool = self.pool.clone();
        let id = doc.as_bytes().to_vec();
        let named: Option<Vec<Vec<u8>>> = hint.map(|keys| {
            keys.iter()
                .filter(|k| !known.contains(*k))
                .map(|k| k.0.clone())
                .collect()
        });
        if named.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let known = known.clone();
        self.block(CALL_TIMEOUT, async move {
            let client = pool.get().await.map_err(db)?;
            let by_keys = client
                .prepare_cached("SELECT key, bytes FROM chunks WHERE doc = $1 AND key = ANY($2)")
                .await
                .map_err(pg)?;
            let fetch = |keys: Vec<Vec<u8>>| {
                let (client, by_keys, id) = (&client, &by_keys, &id);
                async move {
                    let rows = client.query(by_keys, &[id, &keys]).await.map_err(pg)?;
                    rows.iter()
                        .map(|r| {
                            Ok((
                                ChunkKey(r.try_get::<_, Vec<u8>>(0).map_err(pg)?),
                                r.try_get::<_, Vec<u8>>(1).map_err(pg)?,
                            ))
                        })
                        .collect::<Result<Vec<_>, StoreError>>()
                }
            };
            if let Some(named) = named {
                let wanted = named.len();
                let found = fetch(named).await?;
                if found.len() == wanted {
                    return Ok(found);
                }
            }
            // Keys only (cheap), then the chunks not known.
            let keys = client
                .prepare_cached("SELECT key FROM chunks WHERE doc = $1")
                .await
                .map_err(pg)?;
            let unknown: Vec<Vec<u8>> = client
                .query(&keys, &[&id])
                .await
                .map_err(pg)?
                .iter()
                .map(|r| r.try_get::<_, Vec<u8>>(0).map_err(pg))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|k| !known.contains(&ChunkKey(k.clone())))
                .collect();
            if unknown.is_empty() {
                return Ok(Vec::new());
            }
            fetch(unknown).await
        })
    }

    fn setup_lock(&self) -> Result<Box<dyn std::any::Any + Send>, StoreError> {
        let config = self.config.clone();
        let lock = self.block(Duration::from_secs(60), async move {
            // Its own connection, not the pool's: the lock is the
            // session's, released when this connection closes.
            let (client, connection) = config.connect(NoTls).await.map_err(pg)?;
            let driver = tokio::spawn(connection);
            client
                .execute("SELECT pg_advisory_lock($1)", &[&SETUP_LOCK])
                .await
                .map_err(pg)?;
            Ok(SetupLock {
                _client: client,
                driver,
            })
        })?;
        Ok(Box::new(lock))
    }
}

/// The first-start setup lock: closing its connection releases it.
struct SetupLock {
    _client: tokio_postgres::Client,
    driver: tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
}

impl Drop for SetupLock {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// The notifications of one flush: for each document it appends to, the
/// keys of its new chunks. (Compaction snapshots are not named: they hold
/// only changes already notified, or loaded from the table.)
fn chunk_notices(node: &str, ops: &[Arc<Op>]) -> Vec<String> {
    let mut by_doc: Vec<(DocumentId, Vec<&ChunkKey>)> = Vec::new();
    for op in ops {
        if let Op::Append { doc, key, .. } = op.as_ref() {
            match by_doc.iter_mut().find(|(d, _)| d == doc) {
                Some((_, keys)) => keys.push(key),
                None => by_doc.push((*doc, vec![key])),
            }
        }
    }
    by_doc
        .into_iter()
        .map(|(doc, keys)| {
            let named = keys
                .iter()
                .map(|k| hex::encode(&k.0))
                .collect::<Vec<_>>()
                .join(",");
            let payload = format!("{node} {doc} {named}");
            if payload.len() < MAX_PAYLOAD {
                payload
            } else {
                format!("{node} {doc} *")
            }
        })
        .collect()
}

/// The channel and payload that tell other nodes of `event` (`None`: not
/// sent, e.g. an ephemeral frame too large).
fn notice(node: &str, event: &ClusterEvent) -> Option<(&'static str, String)> {
    use base64::Engine as _;
    Some(match event {
        ClusterEvent::Ephemeral { doc, frame } => {
            if frame.len() > MAX_EPHEMERAL_FRAME {
                return None;
            }
            let frame = base64::engine::general_purpose::STANDARD.encode(frame);
            (EPHEMERAL_CHANNEL, format!("{node} {doc} {frame}"))
        }
        ClusterEvent::SessionClosed { session } => (ACCESS_CHANNEL, format!("{node} s {session}")),
        ClusterEvent::RolesChanged => (ACCESS_CHANNEL, format!("{node} r")),
        ClusterEvent::Chunks { .. } | ClusterEvent::Resync => return None,
    })
}

/// The event a notification tells, unless it is this node's own (or not
/// understood: logged and ignored).
fn parse_notice(node: &str, channel: &str, payload: &str) -> Option<ClusterEvent> {
    use base64::Engine as _;
    let mut parts = payload.splitn(3, ' ');
    let sender = parts.next()?;
    if sender == node {
        return None;
    }
    let (first, rest) = (parts.next()?, parts.next());
    let event = match channel {
        CHUNKS_CHANNEL => {
            let doc: DocumentId = first.parse().ok()?;
            let keys = match rest? {
                "*" => None,
                named => Some(
                    named
                        .split(',')
                        .map(|k| hex::decode(k).map(ChunkKey))
                        .collect::<Result<Vec<_>, _>>()
                        .ok()?,
                ),
            };
            ClusterEvent::Chunks { doc, keys }
        }
        EPHEMERAL_CHANNEL => ClusterEvent::Ephemeral {
            doc: first.parse().ok()?,
            frame: base64::engine::general_purpose::STANDARD
                .decode(rest?)
                .ok()?,
        },
        ACCESS_CHANNEL => match first {
            "s" => ClusterEvent::SessionClosed {
                session: rest?.to_owned(),
            },
            "r" => ClusterEvent::RolesChanged,
            _ => return None,
        },
        _ => return None,
    };
    Some(event)
}

/// Listens for the other nodes' notifications on a connection of its own
/// (LISTEN is per session: not the pool's), for as long as anyone
/// receives the events. After every (re)connection it sends
/// [`ClusterEvent::Resync`]: what was notified while it was away is read
/// from the table.
async fn listen(
    config: tokio_postgres::Config,
    node: String,
    events: tokio::sync::mpsc::UnboundedSender<ClusterEvent>,
) {
    use futures_util::StreamExt as _;
    while !events.is_closed() {
        let (client, mut connection) = match config.connect(NoTls).await {
            Ok(connected) => connected,
            Err(e) => {
                tracing::debug!(error = %e, "cannot connect to listen; trying again");
                tokio::time::sleep(LISTEN_RETRY).await;
                continue;
            }
        };
        let (found_tx, mut found) = tokio::sync::mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                        if found_tx.send(n).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the listening connection failed");
                        return;
                    }
                }
            }
        });
        let listening = client
            .batch_execute(&format!(
                "LISTEN {CHUNKS_CHANNEL}; LISTEN {EPHEMERAL_CHANNEL}; LISTEN {ACCESS_CHANNEL}"
            ))
            .await;
        if let Err(e) = listening {
            tracing::warn!(error = %pg(e), "cannot listen; trying again");
            driver.abort();
            tokio::time::sleep(LISTEN_RETRY).await;
            continue;
        }
        tracing::debug!("listening for the other nodes");
        if events.send(ClusterEvent::Resync).is_err() {
            break;
        }
        while let Some(n) = found.recv().await {
            match parse_notice(&node, n.channel(), n.payload()) {
                Some(event) => {
                    if events.send(event).is_err() {
                        break;
                    }
                }
                None => tracing::trace!(channel = n.channel(), "ignored a notification"),
            }
        }
        drop(client);
        driver.abort();
        tokio::time::sleep(LISTEN_RETRY).await;
    }
}
