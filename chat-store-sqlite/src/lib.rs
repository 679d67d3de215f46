//! Placeholder until the SQLite store lands.
