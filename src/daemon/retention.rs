//! Housekeeping beside the loop: `[retention]` deletes old fetch-log lines and stories, and the
//! reprint index forgets stories no new story can match.
//!
//! Owns when rows are old enough to go (from the config's typed [`Timings`](crate::config::Timings)).
//! Never: runs inside the scheduler loop's turn (a long first prune must not stop the loop, and
//! with it the watchdog), or writes SQL itself.

use std::time::Duration;

use chrono::Utc;
use tracing::{error, info};

use super::App;
use crate::config::Timings;

/// How often `[retention]` runs.
pub(super) const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// How often the host budgets and the reprint index are pruned.
pub(super) const PRUNE_EVERY: Duration = Duration::from_secs(60);

impl App {
    /// Deletes what `[retention]` says is too old. Failures are logged; the next round retries.
    pub(super) async fn apply_retention(&self) {
        let timings = self.live().timings;
        let before =
            |d: Option<Duration>| d.and_then(|d| Utc::now().checked_sub_signed(Timings::delta(d)));
        let (fetches, stories) = (
            before(timings.fetch_log_retention),
            before(timings.story_retention),
        );
        if fetches.is_none() && stories.is_none() {
            return;
        }
        match self.inner.store.prune(fetches, stories).await {
            Ok((f, s)) => {
                if let Some(t) = stories {
                    // Pruned stories leave the reprint index too.
                    self.inner.matcher.evict_before(t.timestamp());
                }
                if f + s > 0 {
                    info!(fetch_log = f, stories = s, "retention: deleted old rows");
                }
            }
            Err(e) => error!(error = %e, "retention failed"),
        }
    }

    /// Drops stories from the reprint index once no new story can be in their window.
    pub(super) fn evict_old_stories(&self) {
        let m = &self.inner.matcher;
        m.evict_before(Utc::now().timestamp() - 2 * m.rules().window_secs);
    }
}
