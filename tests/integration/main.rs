//! Synpunkt's integration tests: real servers on loopback, real sled
//! directories, real WebSockets, and the real JavaScript automerge-repo
//! client. One binary, one module per area.

mod abuse;
mod api_guard;
mod authoring;
mod bad_input;
mod browser;
mod browser_a11y;
mod browser_access;
mod browser_client;
mod browser_create;
mod browser_flows;
mod browser_host;
mod browser_journey;
mod browser_live;
mod browser_margin;
mod browser_offline;
mod browser_review;
mod browser_status;
mod browser_steps;
mod cluster;
mod cluster_lb;
mod codec_fixtures;
mod common;
mod contributions;
mod crash;
mod damaged;
mod holes;
mod hosting;
mod http_limits;
mod import;
mod interop;
mod ops;
mod pages;
mod postgres;
mod process;
mod roles;
mod sessions;
mod sync;
mod text_input;
mod workshops;
