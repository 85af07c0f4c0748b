//! The settings of every WebSocket the server accepts. A fleet of 10,000
//! agents and as many open pages means as many sockets: each gets small
//! buffers (the library's default of 128 KiB each was over a gigabyte at
//! 10,000), and a message cap far below the library's 64 MiB, so no peer
//! can make the server hold more than it needs.

use axum::extract::ws::WebSocketUpgrade;

/// What one socket buffers for reading; messages here are small JSON.
const READ_BUFFER: usize = 8 * 1024;

/// An agent's socket: commands go out one by one as they are sent; the
/// agent sends results and heartbeats, which carry its module list.
pub fn for_agent(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    bounded(ws, 0, 1024 * 1024)
}

/// A live page's socket: it sends nothing but pings and closes. Events fed
/// in a burst are written some at a time (a few kilobytes per write, not
/// one write per event) until the burst is flushed.
pub fn for_viewer(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    bounded(ws, 4 * 1024, 16 * 1024)
}

fn bounded(ws: WebSocketUpgrade, write_buffer: usize, max_message: usize) -> WebSocketUpgrade {
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(write_buffer)
        .max_message_size(max_message)
        .max_frame_size(max_message)
}
