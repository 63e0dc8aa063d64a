-- The numbering series of briefings (hometown.briefs.store), apart from the issued documents: a number is reserved
-- in one short transaction (state 印发中), the briefing rendered outside any transaction, and recorded in a second
-- (已印发, with its row in briefs). A render that fails gives its number back when no later number was taken, else
-- the number stays in the series as 作废 with the reason: no number is ever missing without a row saying why.
CREATE TABLE brief_numbers (
    scope_code TEXT NOT NULL,
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    as_of DATE NOT NULL,
    from_draft INTEGER NOT NULL DEFAULT 0,
    token TEXT NOT NULL,
    reserved_at TIMESTAMP NOT NULL,
    reserved_by TEXT NOT NULL,
    closed_at TIMESTAMP,
    reason TEXT,
    PRIMARY KEY (scope_code, number)
);
-- Every briefing issued before this file: its number, issued.
INSERT INTO brief_numbers (scope_code, number, state, as_of, from_draft, token, reserved_at, reserved_by, closed_at)
SELECT scope_code, number, '已印发', as_of, 0, '', issued_at, issued_by, issued_at FROM briefs;
