//! The audit trail in the application: building events from the principal, recording reads by
//! group commit, reading and verifying the trail.
//!
//! Changes are recorded by the store in the same transaction as the change (each write method
//! takes its `AuditEvent`). Reads — archive views, unmasking, searches, downloads, denials —
//! have no transaction of their own: they are queued to one writer task that appends whatever
//! has accumulated in one transaction (group commit) and wakes every request in the batch only
//! after that transaction is durable. So a request is never answered before its audit record is
//! on disk, and the cost is one commit per batch instead of one per request. If the trail
//! cannot be written, the read fails (nothing is shown that was not recorded).

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use chrono::Utc;
use dangan_core::audit::{AuditAction, AuditEvent, AuditHead, AuditRecord, ChainBreak, ChainVerifier, Outcome};
use dangan_core::policy::Action;
use dangan_core::{Archive, Role, User};
use dangan_store::{AuditQuery, Store};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::{App, AppError, Principal, Result};

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub addr: Option<IpAddr>,
    pub user_agent: String,
}

impl ClientInfo {
    pub fn new(addr: Option<IpAddr>, user_agent: &str) -> Self {
        // A user agent is the client's to choose: keep it bounded.
        ClientInfo { addr, user_agent: user_agent.chars().take(300).collect() }
    }
}

type Waiter = oneshot::Sender<std::result::Result<(), String>>;

/// Largest batch appended in one transaction.
const MAX_BATCH: usize = 1024;

/// The group-commit writer for audited reads. Started on first use (it needs the runtime).
#[derive(Default)]
pub(crate) struct AuditQueue {
    sender: OnceLock<mpsc::UnboundedSender<(AuditEvent, Waiter)>>,
}

impl AuditQueue {
    fn sender(&self, store: &Arc<dyn Store>) -> &mpsc::UnboundedSender<(AuditEvent, Waiter)> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_batches(store.clone(), rx));
            tx
        })
    }
}

async fn write_batches(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<(AuditEvent, Waiter)>) {
    let mut batch: Vec<(AuditEvent, Waiter)> = Vec::new();
    // Waits for the first event; whatever arrived while the previous batch was committing is
    // taken along (that is the group commit).
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (events, waiters): (Vec<_>, Vec<_>) = std::mem::take(&mut batch).into_iter().unzip();
        let result = store.append_audit(events).await.map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!("audit trail write failed: {e}");
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
}

/// Who may read the audit trail (a policy of its own): auditor, general manager, archivist.
pub const AUDIT_READERS: &[Role] = &[Role::Auditor, Role::GeneralManager, Role::Archivist];

pub fn may_read_audit(user: &User) -> bool {
    user.active && user.roles.iter().any(|r| AUDIT_READERS.contains(r))
}

/// The audit event of a policy action on an archive.
pub fn action_event(action: Action) -> AuditAction {
    match action {
        Action::Read | Action::List => AuditAction::ArchiveRead,
        Action::ReadUnmasked => AuditAction::ArchiveReadUnmasked,
        Action::Export => AuditAction::ArchiveExport,
        Action::Print => AuditAction::ArchivePrint,
        Action::DownloadAttachment => AuditAction::AttachmentDownload,
        Action::Edit => AuditAction::ArchiveUpdate,
        Action::AddEntry => AuditAction::EntryAdd,
        Action::TransferOwner => AuditAction::ArchiveTransfer,
        Action::Create => AuditAction::ArchiveCreate,
        Action::Approve => AuditAction::AccessApprove,
        Action::RequestDestruction => AuditAction::ArchiveUpdate,
    }
}

/// Result of walking the chain.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub checked: u64,
    pub head_seq: i64,
    pub head_hash: String,
    /// Exported heads compared with the chain.
    pub heads_checked: usize,
    /// The first problem found, if any.
    pub problem: Option<ChainBreak>,
}

impl App {
    /// An event by the principal, now.
    pub fn event(&self, p: &Principal, action: AuditAction) -> AuditEvent {
        let mut e = AuditEvent::new(action, Utc::now());
        e.user_id = Some(p.user.id);
        e.username = p.user.username.clone();
        e.roles = p.user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
        e.dept_id = p.user.dept_id;
        e.client_addr = p.client.addr.map(|a| a.to_string()).unwrap_or_default();
        e.user_agent = p.client.user_agent.clone();
        e
    }

    /// An event by the system or the command line (no logged-in user).
    pub fn system_event(&self, action: AuditAction, who: &str) -> AuditEvent {
        let mut e = AuditEvent::new(action, Utc::now());
        e.username = who.to_string();
        e
    }

    /// An event by `by` if given, else by the command line.
    pub(crate) fn event_by(&self, by: Option<&Principal>, action: AuditAction) -> AuditEvent {
        match by {
            Some(p) => self.event(p, action),
            None => self.system_event(action, "cli"),
        }
    }

    /// Records an event that has no transaction of its own (a read, a denial, a login) and
    /// returns once it is durable.
    pub async fn record(&self, event: AuditEvent) -> Result<()> {
        if !self.settings.audit_reads && event.outcome == Outcome::Allowed && is_read(event.action) {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        self.audit_queue.sender(&self.store).send((event, tx)).map_err(|_| AppError::Internal("the audit writer has stopped".into()))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AppError::Internal(format!("cannot write the audit trail: {e}"))),
            Err(_) => Err(AppError::Internal("the audit writer has stopped".into())),
        }
    }

    /// Records the outcome of an attempt on an archive that was refused.
    pub(crate) async fn record_refusal(&self, p: &Principal, action: Action, archive: &Archive, err: &AppError) -> Result<()> {
        let outcome = match err {
            AppError::NeedsApproval { .. } => Outcome::NeedsApproval,
            AppError::Forbidden | AppError::NotFound => Outcome::Denied,
            _ => return Ok(()),
        };
        let e = self.event(p, action_event(action)).with_archive(archive.id, &archive.archive_no).with_outcome(outcome);
        self.record(e).await
    }

    /// The trail, newest first, for those the audit policy allows; reading it is audited.
    pub async fn audit_log(&self, p: &Principal, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        if !may_read_audit(&p.user) {
            self.record(self.event(p, AuditAction::AuditView).with_outcome(Outcome::Denied)).await?;
            return Err(AppError::Forbidden);
        }
        let mut q = q.clone();
        q.limit = q.limit.clamp(1, 1000);
        let detail = serde_json::to_value(&q).unwrap_or_default();
        self.record(self.event(p, AuditAction::AuditView).with_detail(detail)).await?;
        Ok(self.store.list_audit(&q).await?)
    }

    /// Every record matching the filter (for export), audited as an export of the trail.
    pub async fn audit_export(&self, p: &Principal, q: &AuditQuery, max_rows: usize) -> Result<Vec<AuditRecord>> {
        if !may_read_audit(&p.user) {
            self.record(self.event(p, AuditAction::AuditExport).with_outcome(Outcome::Denied)).await?;
            return Err(AppError::Forbidden);
        }
        let mut q = q.clone();
        q.limit = 1000;
        let mut out: Vec<AuditRecord> = Vec::new();
        loop {
            let page = self.store.list_audit(&q).await?;
            let done = page.len() < q.limit as usize;
            q.before_seq = page.last().map(|r| r.seq);
            out.extend(page);
            if done || out.len() >= max_rows {
                break;
            }
        }
        out.truncate(max_rows);
        let detail = serde_json::json!({ "filter": q, "rows": out.len() });
        self.record(self.event(p, AuditAction::AuditExport).with_detail(detail)).await?;
        Ok(out)
    }

    /// Who consulted (or changed) an archive, newest first — for those who may read the trail.
    pub async fn archive_consultations(&self, p: &Principal, archive_id: dangan_core::ArchiveId, limit: u32) -> Result<Vec<AuditRecord>> {
        self.audit_log(p, &AuditQuery { archive_id: Some(archive_id), limit, ..Default::default() }).await
    }

    /// Walks the whole chain and compares exported heads (`heads`) with it.
    pub async fn verify_audit(&self, heads: &[AuditHead]) -> Result<VerifyReport> {
        verify_chain(self.store.as_ref(), heads).await
    }

    /// The chain's head now (to export).
    pub async fn audit_head(&self) -> Result<Option<AuditHead>> {
        Ok(self.store.audit_head().await?.map(|r| AuditHead { seq: r.seq, hash: r.hash, at: Utc::now() }))
    }

    /// Records grants that have expired since the last sweep (run periodically by the server).
    pub async fn sweep_expired_grants(&self) -> Result<usize> {
        Ok(self.store.sweep_expired_grants(Utc::now()).await?.len())
    }
}

fn is_read(a: AuditAction) -> bool {
    matches!(a, AuditAction::ArchiveRead | AuditAction::ArchiveList)
}

/// Walks the chain in pages; stops at the first break.
pub async fn verify_chain(store: &dyn Store, heads: &[AuditHead]) -> Result<VerifyReport> {
    const PAGE: u32 = 5000;
    let mut v = ChainVerifier::default();
    // From the lowest number stored, whatever it is: a row slipped in below 1 is a break too.
    let mut from = i64::MIN;
    let mut problem = None;
    // Exported heads, by position, to compare as the walk passes them.
    let mut pending: Vec<&AuditHead> = heads.iter().collect();
    pending.sort_by_key(|h| h.seq);
    let mut next_head = 0;
    'walk: loop {
        let page = store.audit_chain(from, PAGE).await?;
        for r in &page {
            if let Err(b) = v.check(r) {
                problem = Some(b);
                break 'walk;
            }
            while next_head < pending.len() && pending[next_head].seq <= r.seq {
                let h = pending[next_head];
                if h.seq < r.seq || h.hash != r.hash {
                    problem = Some(ChainBreak::HeadMismatch { seq: h.seq, at: h.at.to_rfc3339() });
                    break 'walk;
                }
                next_head += 1;
            }
        }
        if page.len() < PAGE as usize {
            break;
        }
        from = page.last().map(|r| r.seq + 1).unwrap_or(from);
    }
    // An exported head beyond the end: the chain was truncated.
    if problem.is_none() && next_head < pending.len() {
        let h = pending[next_head];
        problem = Some(ChainBreak::HeadMismatch { seq: h.seq, at: h.at.to_rfc3339() });
    }
    let (head_seq, head_hash) = v.head();
    Ok(VerifyReport { checked: v.checked, head_seq, head_hash: head_hash.to_string(), heads_checked: next_head, problem })
}
