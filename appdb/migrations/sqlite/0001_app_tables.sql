-- The app's own tables in the embedded SQLite file (issue 18): supervision orders and their history, the audit log, small
-- documents (lock-out state, saved ranking presets), one-off imports, and the record of received uploads.
CREATE TABLE supervision_orders (
    order_id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_no TEXT NOT NULL,
    target_level TEXT NOT NULL,            -- prefecture / county / village
    prefecture_code TEXT NOT NULL,
    county_code TEXT,
    village_key TEXT,
    village_code TEXT,
    target_name TEXT NOT NULL,
    title TEXT NOT NULL,
    items TEXT NOT NULL,                   -- JSON array of strings
    responsible_unit TEXT NOT NULL,
    deadline DATE NOT NULL,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    alert_key TEXT,
    alert_type TEXT,
    alert_level TEXT,
    alert_as_of DATE,
    alert_detail TEXT
);
CREATE INDEX supervision_orders_region ON supervision_orders (prefecture_code, county_code);
CREATE TABLE supervision_events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id BIGINT NOT NULL REFERENCES supervision_orders (order_id),
    event_at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    note TEXT
);
CREATE INDEX supervision_events_order ON supervision_events (order_id);
CREATE TABLE audit_log (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_at TIMESTAMP NOT NULL,
    username TEXT,
    display_name TEXT,
    role TEXT,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT,
    detail TEXT,
    client TEXT,
    chain TEXT NOT NULL
);
CREATE TABLE app_documents (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE legacy_imports (
    source TEXT PRIMARY KEY,
    row_count BIGINT NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
CREATE TABLE received_uploads (
    upload_id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TIMESTAMP NOT NULL,
    username TEXT,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    status TEXT NOT NULL,
    kept_as TEXT
);
