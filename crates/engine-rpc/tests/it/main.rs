//! Integration tests of the Engine API server, in one binary: the JWT layer on a real server,
//! every engine method over JSON-RPC, and the consensus bridge driving engines in process and
//! over JWT-authenticated HTTP.

mod auth_server;
mod bridge;
mod engine_api;
mod fixture;
