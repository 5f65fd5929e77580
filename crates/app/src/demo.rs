//! Loading demo data: a small company (departments and staff with the seeds' roles) and N
//! generated archives. Generation runs on a blocking thread while the store writes the previous
//! batch, so the load rate is the store's.

use chrono::{NaiveTime, Utc};
use dangan_core::demo::DemoGenerator;
use dangan_core::{Department, Role, User};
use dangan_store::BulkArchive;

use crate::{App, Result};

/// Departments of the demo company: (name, code, parent code).
const DEMO_DEPARTMENTS: &[(&str, &str, Option<&str>)] = &[
    ("营销中心", "YX", Some("HQ")),
    ("销售一部", "XS1", Some("YX")),
    ("销售二部", "XS2", Some("YX")),
    ("客服部", "KF", Some("YX")),
    ("财务部", "CW", Some("HQ")),
    ("档案室", "DA", Some("HQ")),
    ("审计部", "SJ", Some("HQ")),
];

/// Demo staff: (username, name, department code, role).
const DEMO_USERS: &[(&str, &str, &str, Role)] = &[
    ("zongjingli", "周建华", "HQ", Role::GeneralManager),
    ("fuzong", "吴晓东", "YX", Role::SalesVp),
    ("zongjian", "郑丽萍", "YX", Role::SalesDirector),
    ("jingli1", "王海涛", "XS1", Role::DeptManager),
    ("jingli2", "李红梅", "XS2", Role::DeptManager),
    ("xiaoshou1", "张明", "XS1", Role::Salesperson),
    ("xiaoshou2", "刘芳", "XS1", Role::Salesperson),
    ("xiaoshou3", "陈磊", "XS2", Role::Salesperson),
    ("xiaoshou4", "杨静", "XS2", Role::Salesperson),
    ("kefu1", "赵敏", "KF", Role::ServiceStaff),
    ("caiwu1", "孙丽", "CW", Role::Finance),
    ("dangan1", "钱芳", "DA", Role::Archivist),
    ("shenji1", "冯强", "SJ", Role::Auditor),
];

pub const DEMO_SEED: u64 = 20261124;
const BATCH: usize = 20_000;

impl App {
    /// Creates the demo company if it is missing; returns the salespeople's (user, department) pairs
    /// that archives are spread over. Demo staff log in with `password` (the admin's, when printed).
    pub async fn ensure_demo_company(&self, password: Option<&str>) -> Result<Vec<(i64, i64)>> {
        let mut depts: Vec<Department> = self.store.list_departments().await?;
        if !depts.iter().any(|d| d.code == "HQ") {
            depts.push(self.store.create_department("总公司", "HQ", None, &self.system_event(dangan_core::audit::AuditAction::DepartmentCreate, "demo")).await?);
        }
        for (name, code, parent) in DEMO_DEPARTMENTS {
            if !depts.iter().any(|d| d.code == *code) {
                let parent_id = parent.and_then(|p| depts.iter().find(|d| d.code == p).map(|d| d.id));
                depts.push(self.store.create_department(name, code, parent_id, &self.system_event(dangan_core::audit::AuditAction::DepartmentCreate, "demo")).await?);
            }
        }
        let mut users: Vec<User> = self.store.list_users().await?;
        for (username, name, code, role) in DEMO_USERS {
            if !users.iter().any(|u| u.username == *username) {
                let dept = depts.iter().find(|d| d.code == *code).map(|d| d.id);
                users.push(self.add_user(None, username, name, password, dept, vec![*role]).await?);
            }
        }
        Ok(users
            .iter()
            .filter(|u| u.has_role(Role::Salesperson) || u.has_role(Role::DeptManager))
            .filter_map(|u| u.dept_id.map(|d| (u.id, d)))
            .collect())
    }

    /// Loads `count` generated archives (indexes `start..start+count`), calling `progress` with
    /// the number loaded so far after each batch.
    pub async fn load_demo(&self, start: u64, count: u64, owners: Vec<(i64, i64)>, actor: i64, mut progress: impl FnMut(u64)) -> Result<u64> {
        let now = Utc::now();
        let today = now.date_naive();
        let generator = std::sync::Arc::new(DemoGenerator::new(DEMO_SEED, today, owners));
        let app = self.clone();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<BulkArchive>>(2);
        let producer = tokio::task::spawn_blocking(move || {
            let mut i = start;
            let end = start + count;
            while i < end {
                let n = (end - i).min(BATCH as u64);
                let batch: Vec<BulkArchive> = (i..i + n)
                    .map(|idx| {
                        let mut a = generator.archive(idx);
                        app.seal(&mut a.data);
                        let seconds = (idx.wrapping_mul(7919) % 86_400) as u32;
                        let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or_default();
                        // Archives dated today must not claim a time later than now.
                        let created_at = a.created_on.and_time(time).and_utc().min(now);
                        BulkArchive::new(a.data, created_at, a.contacts, a.entries)
                    })
                    .collect::<Result<_, _>>()?;
                if tx.blocking_send(batch).is_err() {
                    break;
                }
                i += n;
            }
            Ok::<_, dangan_store::StoreError>(())
        });
        let scheme = self.settings.number_scheme.clone();
        self.store.begin_bulk_load().await?;
        let mut done = 0;
        let loaded: Result<()> = async {
            while let Some(mut batch) = rx.recv().await {
                // Numbers are allocated in creation order, as they would have been on paper.
                batch.sort_by_key(|b| b.created_at);
                let mut event = self.system_event(dangan_core::audit::AuditAction::ArchiveBulkCreate, "demo");
                event.user_id = Some(actor);
                done += self.store.bulk_load(batch, &scheme, "", &event).await? as u64;
                progress(done);
            }
            Ok(())
        }
        .await;
        drop(rx);
        let produced = producer.await.map_err(|e| crate::AppError::Internal(e.to_string()));
        // Whatever happened, put back what the load set aside (deferred indexes, cache).
        self.store.end_bulk_load().await?;
        loaded?;
        produced??;
        self.store.compact_search_index().await?;
        Ok(done)
    }
}
