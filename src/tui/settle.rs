//! Waiting for the reader thread: for tests and scripts that drive the state without an event
//! loop. The event loop never waits (it takes each reply as it arrives), and neither do the
//! views nor `update` (`tests/architecture.rs` keeps them from calling this).

use super::app::{App, Effect};
use super::store::eat;
use std::time::{Duration, Instant};

impl App {
    /// Waits (up to a minute) until the reader has answered everything asked so far, eating each
    /// answer; returns the effects of actions that waited for one. For tests and scripts: the
    /// event loop never waits for the reader.
    pub fn settle(&mut self) -> Vec<Effect> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut fx = vec![];
        while self.reader.busy() {
            let Some(reply) = self.reader.wait(deadline) else {
                break;
            };
            fx.extend(eat(self, reply));
        }
        fx
    }
}
