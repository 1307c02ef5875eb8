-- Synpunkt's relational schema: documents' chunks and one table per record
-- table of the store (server/src/store/mod.rs, `Table`). Records the server
-- keeps as JSON are jsonb; keys are typed columns.

-- A document's chunks: automerge saves (snapshots) and incremental saves,
-- keyed by the SHA-256 of their bytes, so writers on several nodes never
-- collide, and a compaction deletes exactly the keys it merged.
CREATE TABLE chunks (
    doc bytea NOT NULL CHECK (length(doc) = 16),
    key bytea NOT NULL,
    kind text NOT NULL CHECK (kind IN ('snapshot', 'incremental')),
    bytes bytea NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (doc, key)
);

CREATE TABLE meta (
    key text PRIMARY KEY,
    value bytea NOT NULL
);

-- workshop id = its summary document's id
CREATE TABLE workshops (
    id bytea PRIMARY KEY CHECK (length(id) = 16),
    record jsonb NOT NULL
);

CREATE TABLE users (
    id text PRIMARY KEY,
    record jsonb NOT NULL
);

-- keyed by the SHA-256 of the token (the token itself is never stored)
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    record jsonb NOT NULL
);

CREATE TABLE invites (
    token_hash bytea PRIMARY KEY,
    record jsonb NOT NULL
);

-- one role per (workshop, user)
CREATE TABLE memberships (
    workshop bytea NOT NULL CHECK (length(workshop) = 16),
    user_id text NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workshop, user_id)
);

-- An automerge actor id belongs to one user: the primary key is what makes
-- binding it atomic across nodes (INSERT … ON CONFLICT DO NOTHING).
CREATE TABLE actors (
    actor bytea PRIMARY KEY,
    user_id text NOT NULL
);

CREATE TABLE drafts (
    id bytea PRIMARY KEY CHECK (length(id) = 16),
    record jsonb NOT NULL
);

-- the actor the server writes with on a user's behalf (bound in `actors`)
CREATE TABLE edit_actors (
    user_id text PRIMARY KEY,
    actor bytea NOT NULL UNIQUE
);

-- stored chunks automerge could not load, moved aside by compaction
CREATE TABLE unreadable (
    doc bytea NOT NULL CHECK (length(doc) = 16),
    hash bytea NOT NULL,
    chunk bytea NOT NULL,
    PRIMARY KEY (doc, hash)
);

CREATE TABLE series (
    id text PRIMARY KEY,
    record jsonb NOT NULL
);
