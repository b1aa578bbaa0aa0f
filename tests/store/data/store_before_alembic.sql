-- The store's schema as voicebot wrote it before Alembic (SQLite only), for the migration test.

CREATE TABLE IF NOT EXISTS store_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS customers (
    customer_id TEXT PRIMARY KEY,
    name TEXT,
    phones TEXT NOT NULL DEFAULT '[]',
    home_file TEXT,
    default_area TEXT,
    language TEXT NOT NULL DEFAULT 'en'
);
CREATE TABLE IF NOT EXISTS customer_phones (
    phone TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(customer_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    customer_id TEXT,
    caller TEXT,
    language TEXT NOT NULL DEFAULT 'en',
    started_at REAL NOT NULL,
    ended_at REAL,
    outcome TEXT
);
CREATE INDEX IF NOT EXISTS conversations_customer ON conversations(customer_id);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    at REAL NOT NULL,
    user_text TEXT NOT NULL,
    reply TEXT NOT NULL,
    intent TEXT,
    slots TEXT NOT NULL DEFAULT '{}',
    actions TEXT NOT NULL DEFAULT '[]',
    sentiment REAL,
    language TEXT,
    handled_by TEXT,
    timings TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS turns_conversation ON turns(conversation_id);
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT,
    customer_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    reason TEXT NOT NULL,
    problem TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '{}',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tickets_customer ON tickets(customer_id);
CREATE TABLE IF NOT EXISTS trace (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT,
    customer_id TEXT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    device_id TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS trace_conversation ON trace(conversation_id);
CREATE INDEX IF NOT EXISTS trace_customer ON trace(customer_id);
-- feedback_chunks as first written: no size column yet

CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    audio_sha256 TEXT NOT NULL,
    model TEXT NOT NULL,
    firmware TEXT NOT NULL,
    locale TEXT,
    recorded_at REAL NOT NULL,
    received_at REAL NOT NULL,
    stored_at REAL NOT NULL,
    duration_s REAL NOT NULL,
    audio_format TEXT NOT NULL,
    transcript TEXT NOT NULL,
    language TEXT NOT NULL,
    confidence REAL NOT NULL,
    sentiment REAL NOT NULL,
    label TEXT NOT NULL,
    emotions TEXT NOT NULL DEFAULT '[]',
    topics TEXT NOT NULL DEFAULT '{}',
    urgency TEXT NOT NULL,
    urgency_reasons TEXT NOT NULL DEFAULT '[]',
    ticket_id TEXT,
    contacted INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    audio BLOB,
    UNIQUE (device_id, clip_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS feedback_content ON feedback(device_id, audio_sha256);
CREATE INDEX IF NOT EXISTS feedback_time ON feedback(recorded_at);
CREATE TABLE IF NOT EXISTS feedback_uploads (
    device_id TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    meta TEXT NOT NULL,
    started_at REAL NOT NULL,
    PRIMARY KEY (device_id, clip_id)
);
CREATE TABLE IF NOT EXISTS feedback_chunks (
    device_id TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (device_id, clip_id, seq)
);
CREATE TABLE IF NOT EXISTS feedback_claims (
    device_id TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    worker TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (device_id, clip_id)
);

CREATE TABLE IF NOT EXISTS learned_names (
    home TEXT NOT NULL,
    phrase TEXT NOT NULL,
    device_id TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'en',
    learned_at REAL NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (home, phrase)
);
CREATE TABLE IF NOT EXISTS erasures (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, rows INTEGER NOT NULL);
