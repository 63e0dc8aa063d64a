"""Access room: who may sign in as which role (roles, users, lock-out), the audit trail of what they did, and the
upload of reports (who may send what, where the files are kept)."""
