"""Event-store tests run against SQLite and PostgreSQL, and publish to a real JetStream."""
