-- The record of briefings (hometown.briefs.store): every issued briefing with its number, figures and exact
-- documents, and the drafts waiting to be issued. Numbers per scope are taken under an advisory lock of the scope.
CREATE TABLE briefs (
    scope_code TEXT NOT NULL,
    number INTEGER NOT NULL,
    scope_name TEXT NOT NULL,
    as_of DATE NOT NULL,
    previous_as_of DATE,
    title TEXT NOT NULL,
    office TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    issued_by TEXT NOT NULL,
    warehouse_version TEXT NOT NULL,
    inputs TEXT NOT NULL,
    model TEXT NOT NULL,
    docx BYTEA NOT NULL,
    pdf BYTEA NOT NULL,
    docx_sha256 TEXT NOT NULL,
    pdf_sha256 TEXT NOT NULL,
    PRIMARY KEY (scope_code, number)
);
CREATE TABLE brief_drafts (
    scope_code TEXT NOT NULL,
    as_of DATE NOT NULL,
    scope_name TEXT NOT NULL,
    drafted_at TIMESTAMP NOT NULL,
    drafted_by TEXT NOT NULL,
    state TEXT NOT NULL,
    number INTEGER,
    closed_at TIMESTAMP,
    closed_by TEXT,
    PRIMARY KEY (scope_code, as_of)
);
