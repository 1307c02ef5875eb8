//! The browser client (filled by the client issue).
