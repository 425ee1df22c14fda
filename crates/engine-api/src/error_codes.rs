//! JSON-RPC error codes of the Engine API (execution-apis `src/engine/common.md`), and the size
//! limit of one message on the authenticated port.

/// -32602: invalid method parameters.
pub const INVALID_PARAMS: i32 = -32602;
/// -32603: internal error.
pub const INTERNAL_ERROR: i32 = -32603;
/// -38001: unknown payload.
pub const UNKNOWN_PAYLOAD: i32 = -38001;
/// -38002: invalid forkchoice state.
pub const INVALID_FORKCHOICE_STATE: i32 = -38002;
/// -38003: invalid payload attributes.
pub const INVALID_PAYLOAD_ATTRIBUTES: i32 = -38003;
/// -38004: too large request.
pub const TOO_LARGE_REQUEST: i32 = -38004;
/// -38005: unsupported fork.
pub const UNSUPPORTED_FORK: i32 = -38005;

/// Largest request or response on the authenticated port (a payload with a full blob bundle
/// fits many times over).
pub const MAX_REQUEST_BYTES: u32 = 128 * 1024 * 1024;
