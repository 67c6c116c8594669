//! Which shares of the accounts this instance owns: the partitions of the orders topic that
//! the consumer group assigns it. Every instance reads every input partition; the group only
//! decides whose engines hold which accounts.
//!
//! The membership consumer subscribes to the orders topic and never reads it (its partitions
//! are paused as soon as they are assigned). A revocation is not answered in the callback:
//! the instance first checkpoints the shares it is giving up, then calls [`Membership::release`],
//! and only then does the group hand them to another instance, so two instances never
//! produce a share's alerts at once.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, TopicPartitionList};

/// What the group last said.
#[derive(Debug, Default)]
struct GroupState {
    /// The shares assigned, once the group has assigned any.
    assigned: Option<BTreeSet<u32>>,
    /// The group is taking the shares back; waiting for [`Membership::release`].
    revoking: bool,
    /// The instance is leaving: give shares back at once.
    leaving: bool,
}

/// The membership consumer's context: keeps the group's decisions for the run loop.
pub struct GroupContext {
    state: Arc<Mutex<GroupState>>,
}

impl ClientContext for GroupContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", "group: {error}: {reason}");
    }
}

impl ConsumerContext for GroupContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let shares: BTreeSet<u32> = tpl
                    .elements()
                    .iter()
                    .map(|e| e.partition() as u32)
                    .collect();
                if let Err(e) = consumer.assign(tpl) {
                    tracing::error!("cannot take the assigned shares: {e}");
                }
                // Membership only: the orders are read by the run's own consumers.
                if let Err(e) = consumer.pause(tpl) {
                    tracing::warn!("cannot pause the membership consumer: {e}");
                }
                tracing::info!(?shares, "the group assigned shares");
                state.assigned = Some(shares);
                state.revoking = false;
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS if state.leaving => {
                let _ = consumer.unassign();
                state.assigned = None;
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!("the group is taking the shares back");
                state.revoking = true;
            }
            other => {
                tracing::error!("rebalance error: {other:?}");
                let _ = consumer.unassign();
                state.assigned = None;
                state.revoking = false;
            }
        }
    }
}

impl Drop for Membership {
    /// Leaving the group revokes the shares; they are answered at once (the run that owned
    /// them has checkpointed or is gone).
    fn drop(&mut self) {
        self.state().leaving = true;
    }
}

/// This instance's membership in the group. See the module documentation.
pub struct Membership {
    consumer: BaseConsumer<GroupContext>,
    state: Arc<Mutex<GroupState>>,
    topic: String,
}

impl Membership {
    /// Joins `group_id`, dividing the partitions of `orders_topic` (the shares).
    pub fn join(base: &ClientConfig, group_id: &str, orders_topic: &str) -> anyhow::Result<Self> {
        let state = Arc::new(Mutex::new(GroupState::default()));
        let mut config = base.clone();
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("partition.assignment.strategy", "range")
            // A killed instance's shares move after this long without its heartbeat.
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            // Also the rebalance timeout: how long a rebalance waits for members to rejoin.
            .set("max.poll.interval.ms", "30000");
        let consumer: BaseConsumer<GroupContext> = config
            .create_with_context(GroupContext {
                state: state.clone(),
            })
            .context("cannot create the group membership consumer")?;
        consumer
            .subscribe(&[orders_topic])
            .with_context(|| format!("cannot join group {group_id}"))?;
        Ok(Membership {
            consumer,
            state,
            topic: orders_topic.to_string(),
        })
    }

    /// Leaves and joins the group again: a new rebalance, in which members that stopped
    /// answering are left out (a broker may keep a dead member through one rebalance).
    pub fn rejoin(&self) -> anyhow::Result<()> {
        self.state().leaving = true;
        self.consumer.unsubscribe();
        for _ in 0..50 {
            self.poll(Duration::from_millis(20));
        }
        {
            let mut state = self.state();
            state.leaving = false;
            state.assigned = None;
            state.revoking = false;
        }
        self.consumer
            .subscribe(&[&self.topic])
            .context("cannot join the group again")
    }

    fn state(&self) -> std::sync::MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Serves the group's callbacks (heartbeats, rebalances); call it often.
    pub fn poll(&self, timeout: Duration) {
        // Paused partitions deliver nothing; a message that slipped in before the pause is
        // not ours to read.
        if let Some(Err(err)) = self.consumer.poll(timeout) {
            tracing::debug!("group: {err}");
        }
    }

    /// The shares this instance owns now (`None` before the group has decided).
    pub fn assignment(&self) -> Option<BTreeSet<u32>> {
        let state = self.state();
        if state.revoking {
            return None;
        }
        state.assigned.clone()
    }

    /// The group wants the shares back: checkpoint them, then [`Membership::release`].
    pub fn revoking(&self) -> bool {
        self.state().revoking
    }

    /// Gives the shares back to the group (their checkpoints are written).
    pub fn release(&self) {
        if let Err(e) = self.consumer.unassign() {
            tracing::warn!("cannot give the shares back: {e}");
        }
        let mut state = self.state();
        state.assigned = None;
        state.revoking = false;
    }
}
