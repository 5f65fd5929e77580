//! Duplicate check (查重) and merge on both engines, at the store level: the keys are kept by
//! every write path (create, update, contact add/update, bulk load, reindex), every reason is
//! found by the index-driven lookup (single and batch), the scan lists pairs by score, and a merge
//! keeps everything, in one transaction.
//!
//! Each scenario runs on SQLite and on PostgreSQL (`<scenario>::sqlite`, `<scenario>::postgres`).

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use dangan_core::audit::{AuditAction, AuditEvent};
use dangan_core::dedup::{archive_keys, Reason};
use dangan_core::numbering::NumberScheme;
use dangan_core::{ArchiveData, ContactData, CustomerKind, EntryData, EntryKind, OrganizationInfo, PersonInfo, Secrecy, Tier};
use dangan_store::{AuditQuery, BulkArchive, MergeRequest, NewAttachment, Numbering, Store, StoreError};

macro_rules! scenarios {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("temporary directory");
                let store = dangan_store::sqlite::SqliteStore::open(&dir.path().join("dangan.db")).expect("open SQLite");
                let store: std::sync::Arc<dyn dangan_store::Store> = std::sync::Arc::new(store);
                store.migrate().await.expect("migrate");
                super::$scenario(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = dangan_store::testing::TestDb::create().await else { return };
                let store = dangan_store::open(&db.url, std::path::Path::new("unused.db")).await.expect("connect to the test database");
                store.migrate().await.expect("migrate");
                super::$scenario(store).await;
                drop(db);
            }
        }
    )+};
}

scenarios!(keys_follow_every_write, every_reason_is_found, batch_lookup_answers_per_row, scan_lists_pairs_by_score, merge_keeps_everything, merge_is_atomic_and_refuses_stale, bulk_load_and_reindex_keep_keys);

fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap() + Duration::seconds(secs)
}

fn numbering() -> Numbering {
    Numbering { scheme: NumberScheme::default(), dept_code: String::new(), date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap() }
}

fn ev(action: AuditAction) -> AuditEvent {
    let mut e = AuditEvent::new(action, Utc::now());
    e.user_id = Some(1);
    e
}

fn org(name: &str) -> ArchiveData {
    ArchiveData::new(CustomerKind::Organization, name)
}

fn org_uscc(name: &str, uscc: &str) -> ArchiveData {
    let mut d = org(name);
    d.organization = Some(OrganizationInfo { uscc: Some(uscc.into()), ..Default::default() });
    d
}

fn person(name: &str) -> ArchiveData {
    let mut d = ArchiveData::new(CustomerKind::Person, name);
    d.person = Some(PersonInfo::default());
    d
}

fn contact(name: &str, mobile: &str) -> ContactData {
    ContactData { name: name.into(), title: None, mobile: Some(mobile.into()), landline: None, email: None, wechat: None, birthday: None, preferences: None, is_primary: false }
}

async fn create(store: &Arc<dyn Store>, d: &ArchiveData) -> i64 {
    store.create_archive(d, &numbering(), &ev(AuditAction::ArchiveCreate)).await.expect("create").id
}

/// The candidates for a would-be archive: (id, reasons).
async fn found(store: &Arc<dyn Store>, d: &ArchiveData, id_hash: Option<&str>, contacts: &[ContactData], exclude: Option<i64>) -> Vec<(i64, Vec<Reason>)> {
    let keys = archive_keys(d, id_hash, contacts);
    store.duplicate_candidates(&keys, exclude).await.expect("lookup").into_iter().map(|c| (c.archive.id, c.reasons)).collect()
}

async fn keys_follow_every_write(store: Arc<dyn Store>) {
    let mut d = org_uscc("杭州华星建材有限公司", "91330100MA27XXXX0X");
    d.mobile = Some("13800001111".into());
    let id = create(&store, &d).await;
    assert_eq!(store.dedup_keys(id).await.unwrap(), vec!["c:杭州|华星建材", "m:13800001111", "n:华星建材", "p:13800001111", "u:91330100MA27XXXX0X"]);

    // Update: old keys go, new ones come.
    let mut d2 = d.clone();
    d2.mobile = Some("13900002222".into());
    d2.name = "宁波华星建材有限公司".into();
    store.update_archive(id, 1, &d2, None, &ev(AuditAction::ArchiveUpdate)).await.unwrap();
    let k = store.dedup_keys(id).await.unwrap();
    assert!(k.contains(&"m:13900002222".to_string()) && !k.contains(&"m:13800001111".to_string()), "{k:?}");
    assert!(k.contains(&"c:宁波|华星建材".to_string()), "{k:?}");

    // Contacts: their phones become keys; a changed contact phone replaces its key.
    let c = store.add_contact(id, &contact("王五", "13700003333"), &ev(AuditAction::ContactAdd)).await.unwrap();
    assert!(store.dedup_keys(id).await.unwrap().contains(&"p:13700003333".to_string()));
    store.update_contact(id, c.id, &contact("王五", "13700004444"), &ev(AuditAction::ContactUpdate)).await.unwrap();
    let k = store.dedup_keys(id).await.unwrap();
    assert!(k.contains(&"p:13700004444".to_string()) && !k.contains(&"p:13700003333".to_string()), "{k:?}");

    // The ID number's keyed hash (what the application stores in archives.id_hash).
    let mut p = person("张伟");
    p.person.as_mut().unwrap().id_number = Some("enc:v1:xxxx".into());
    p.person.as_mut().unwrap().id_number_index = Some("hash-of-id".into());
    let pid = create(&store, &p).await;
    assert!(store.dedup_keys(pid).await.unwrap().contains(&"i:hash-of-id".to_string()));
    // Stored keys are recomputed from what is stored (the hash comes from the column).
    store.add_contact(pid, &contact("张父", "13600005555"), &ev(AuditAction::ContactAdd)).await.unwrap();
    assert!(store.dedup_keys(pid).await.unwrap().contains(&"i:hash-of-id".to_string()));
}

async fn every_reason_is_found(store: Arc<dyn Store>) {
    let mut a = org_uscc("杭州华星建材有限公司", "91330100MA27XXXX0X");
    a.classification.city = Some("杭州市".into());
    a.mobile = Some("13800001111".into());
    let a = create(&store, &a).await;
    let mut p = person("陈伟");
    p.person.as_mut().unwrap().id_number_index = Some("idhash-1".into());
    p.classification.city = Some("宁波市".into());
    let p = create(&store, &p).await;
    let other = create(&store, &org("温州东方鞋业有限公司")).await;
    store.add_contact(other, &contact("李娜", "13911112222"), &ev(AuditAction::ContactAdd)).await.unwrap();

    // 统一社会信用代码相同 (a different name).
    assert_eq!(found(&store, &org_uscc("完全不同", "91330100MA27XXXX0X"), None, &[], None).await, vec![(a, vec![Reason::SameUscc])]);
    // 身份证号相同.
    assert_eq!(found(&store, &person("某人"), Some("idhash-1"), &[], None).await, vec![(p, vec![Reason::SameIdNumber])]);
    // 手机号相同 (also a phone of the archive → 联系电话相同 as a second reason).
    let mut m = org("别的公司");
    m.mobile = Some("+86 138-0000-1111".into());
    assert_eq!(found(&store, &m, None, &[], None).await, vec![(a, vec![Reason::SameMobile, Reason::SameContactPhone])]);
    // 名称近似: 有限责任公司 vs 有限公司, brackets, full-width, traditional.
    for name in ["华星建材有限责任公司", "华星建材（宁波）股份有限公司", "華星建材有限公司", "华星建材　有限公司", "华星建材(宁波市)有限公司"] {
        assert_eq!(found(&store, &org(name), None, &[], None).await, vec![(a, vec![Reason::SimilarName])], "{name}");
    }
    // 同城同名 (organization: also 名称近似; city from the bracket).
    assert_eq!(found(&store, &org("华星建材（杭州）有限公司"), None, &[], None).await, vec![(a, vec![Reason::SameNameSameCity, Reason::SimilarName])]);
    // A person: same name alone is nothing, same name in the same city is 同城同名 — 陳偉 is 陈伟.
    assert_eq!(found(&store, &person("陳偉"), None, &[], None).await, vec![]);
    let mut same_city = person("陳 偉");
    same_city.classification.city = Some("宁波".into());
    assert_eq!(found(&store, &same_city, None, &[], None).await, vec![(p, vec![Reason::SameNameSameCity])]);
    // 联系电话相同: a contact's phone (either side).
    let mut via_contact = org("无关公司");
    via_contact.mobile = Some("13911112222".into());
    assert_eq!(found(&store, &via_contact, None, &[], None).await, vec![(other, vec![Reason::SameContactPhone])]);
    assert_eq!(found(&store, &org("另一家"), None, &[contact("某", "13800001111")], None).await, vec![(a, vec![Reason::SameContactPhone])]);
    // Several reasons score higher and come first; the archive being edited is left out.
    let mut both = org_uscc("华星建材", "91330100MA27XXXX0X");
    both.mobile = Some("13911112222".into());
    let got = store.duplicate_candidates(&archive_keys(&both, None, &[]), None).await.unwrap();
    assert_eq!(got.iter().map(|c| c.archive.id).collect::<Vec<_>>(), vec![a, other]);
    assert_eq!(got[0].score, 100);
    assert_eq!(got[1].score, 60);
    assert!(found(&store, &org_uscc("x", "91330100MA27XXXX0X"), None, &[], Some(a)).await.is_empty());
    // Nothing in common, nothing found.
    assert!(found(&store, &org("毫不相干有限公司"), None, &[], None).await.is_empty());
}

async fn batch_lookup_answers_per_row(store: Arc<dyn Store>) {
    let a = create(&store, &org_uscc("杭州华星建材有限公司", "91330100MA27XXXX0X")).await;
    let b = create(&store, &org("温州东方鞋业有限公司")).await;
    let rows = vec![
        archive_keys(&org("东方鞋业有限责任公司"), None, &[]),
        archive_keys(&org("毫不相干"), None, &[]),
        archive_keys(&org_uscc("华星建材", "91330100MA27XXXX0X"), None, &[]),
        vec![],
    ];
    let got = store.duplicate_candidates_batch(&rows).await.unwrap();
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].iter().map(|c| c.archive.id).collect::<Vec<_>>(), vec![b]);
    assert!(got[1].is_empty() && got[3].is_empty());
    assert_eq!(got[2][0].archive.id, a);
    assert_eq!(got[2][0].reasons, vec![Reason::SameUscc, Reason::SimilarName]);
    // A key shared by very many archives returns a bounded number of them.
    for i in 0..(dangan_store::DEDUP_MAX_GROUP + 5) {
        let mut d = org(&format!("公司{i}号"));
        d.landline = Some("0571-88880000".into());
        create(&store, &d).await;
    }
    let mut probe = org("总机");
    probe.landline = Some("057188880000".into());
    let got = store.duplicate_candidates(&archive_keys(&probe, None, &[]), None).await.unwrap();
    assert_eq!(got.len() as i64, dangan_store::DEDUP_MAX_GROUP);
}

async fn scan_lists_pairs_by_score(store: Arc<dyn Store>) {
    let a = create(&store, &org_uscc("杭州华星建材有限公司", "91330100MA27XXXX0X")).await;
    let b = create(&store, &org_uscc("华星建材（杭州）有限责任公司", "91330100MA27XXXX0X")).await;
    let c = create(&store, &org("东方鞋业有限公司")).await;
    let d = create(&store, &org("東方鞋業股份有限公司")).await;
    create(&store, &org("独一无二有限公司")).await;
    let page = store.duplicate_pairs(None, 10).await.unwrap();
    let pairs: Vec<(i64, i64, u8)> = page.iter().map(|p| (p.left.id, p.right.id, p.score)).collect();
    assert_eq!(pairs, vec![(a, b, 100), (c, d, 70)]);
    assert_eq!(page[0].reasons, vec![Reason::SameUscc, Reason::SameNameSameCity, Reason::SimilarName]);
    assert_eq!(page[1].reasons, vec![Reason::SimilarName]);
    // Keyset paging: one per page, same order, then nothing.
    let p1 = store.duplicate_pairs(None, 1).await.unwrap();
    let p2 = store.duplicate_pairs(Some(p1[0].cursor), 1).await.unwrap();
    let p3 = store.duplicate_pairs(Some(p2[0].cursor), 1).await.unwrap();
    assert_eq!((p1[0].left.id, p2[0].left.id), (a, c));
    assert!(p3.is_empty());
    assert_eq!(dangan_store::PairCursor::decode(&p1[0].cursor.encode()), Some(p1[0].cursor));
}

async fn merge_keeps_everything(store: Arc<dyn Store>) {
    let mut s = org("华星建材");
    s.mobile = Some("13800001111".into());
    s.tier = Tier::Department;
    let sid = create(&store, &s).await;
    let mut m = org_uscc("杭州华星建材有限公司", "91330100MA27XXXX0X");
    m.email = Some("hx@example.cn".into());
    m.secrecy = Secrecy::Secret;
    m.tier = Tier::Company;
    let mid = create(&store, &m).await;
    let survivor_no = store.get_archive(sid).await.unwrap().unwrap().archive_no;
    let merged_no = store.get_archive(mid).await.unwrap().unwrap().archive_no;
    store.add_contact(sid, &contact("赵一", "13900000001"), &ev(AuditAction::ContactAdd)).await.unwrap();
    let c2 = store.add_contact(mid, &contact("钱二", "13900000002"), &ev(AuditAction::ContactAdd)).await.unwrap();
    let entry = EntryData {
        kind: EntryKind::Visit,
        occurred_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        summary: "拜访".into(),
        details: Default::default(),
        supersedes: None,
        correction_reason: None,
    };
    let e1 = store.add_entry(mid, &entry, &ev(AuditAction::EntryAdd)).await.unwrap();
    let att = NewAttachment { archive_id: mid, sha256: "ab".repeat(32), filename: "营业执照.png".into(), content_type: "image/png".into(), size: 10, created_by: 1, created_at: at(5) };
    let a1 = store.add_attachment(&att, &ev(AuditAction::AttachmentAdd)).await.unwrap();
    let sv = store.get_archive(sid).await.unwrap().unwrap().version;
    let mv = store.get_archive(mid).await.unwrap().unwrap().version;

    let (data, _taken) = dangan_core::dedup::merge_documents(&store.get_archive(sid).await.unwrap().unwrap().data, &store.get_archive(mid).await.unwrap().unwrap().data);
    let mut event = ev(AuditAction::ArchiveMerge);
    event.detail = serde_json::json!({ "reason": "同一客户" }).to_string();
    let req = MergeRequest { survivor_id: sid, survivor_version: sv, merged_id: mid, merged_version: mv, data, reason: "合并：同一客户".into() };
    let out = store.merge_archives(&req, &event).await.unwrap();
    assert_eq!((out.moved_contacts, out.moved_entries, out.moved_attachments), (1, 1, 1));
    assert_eq!(out.merged_no, merged_no);

    // The survivor: its number, a new version with the reason, fields filled, stricter secrecy.
    let sa = store.get_archive(sid).await.unwrap().unwrap();
    assert_eq!(sa.archive_no, survivor_no);
    assert_eq!(sa.version, sv + 1);
    assert_eq!(sa.data.uscc(), Some("91330100MA27XXXX0X"));
    assert_eq!(sa.data.email.as_deref(), Some("hx@example.cn"));
    assert_eq!(sa.data.mobile.as_deref(), Some("13800001111"));
    assert_eq!(sa.data.secrecy, Secrecy::Secret);
    assert_eq!(sa.data.tier, Tier::Department);
    let versions = store.list_versions(sid).await.unwrap();
    assert_eq!(versions.last().unwrap().reason.as_deref(), Some("合并：同一客户"));
    assert_eq!(versions.len() as i64, sv + 1, "the version before the merge is kept");

    // The merged archive: a tombstone, its number resolves to it with merged_into, nothing deleted.
    let tomb = store.get_archive_by_no(&merged_no).await.unwrap().unwrap();
    assert_eq!(tomb.merged_into, Some(sid));
    assert_eq!(tomb.data.name, "杭州华星建材有限公司");
    assert!(store.dedup_keys(mid).await.unwrap().is_empty());

    // Contacts, timeline and attachments are on the survivor, each recording its origin.
    let contacts = store.list_contacts(sid).await.unwrap();
    assert_eq!(contacts.iter().map(|c| c.data.name.as_str()).collect::<Vec<_>>(), vec!["赵一", "钱二"]);
    assert!(store.list_contacts(mid).await.unwrap().is_empty());
    assert_eq!(store.list_entries(sid).await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(), vec![e1.id]);
    assert_eq!(store.list_attachments(sid).await.unwrap().iter().map(|a| a.id).collect::<Vec<_>>(), vec![a1.id]);
    let moved = store.moved_parts(sid).await.unwrap();
    assert_eq!(moved.iter().map(|m| (m.kind, m.id, m.origin_archive_id)).collect::<Vec<_>>(), vec![("contact", c2.id, mid), ("entry", e1.id, mid), ("attachment", a1.id, mid)]);

    // Keys and search follow: the survivor has the merged one's credit code and contact phone;
    // the tombstone is out of lists.
    let k = store.dedup_keys(sid).await.unwrap();
    assert!(k.contains(&"u:91330100MA27XXXX0X".to_string()) && k.contains(&"p:13900000002".to_string()), "{k:?}");
    let listed = store.list_archives(&dangan_store::ArchiveQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert!(listed.iter().all(|a| a.id != mid));
    assert_eq!(store.count_archives(&Default::default()).await.unwrap(), 1);

    // One audit record, on the survivor, with the counts.
    let recs = store.list_audit(&AuditQuery { action: Some("archive.merge".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].event.archive_id, Some(sid));
    let detail: serde_json::Value = serde_json::from_str(&recs[0].event.detail).unwrap();
    assert_eq!(detail["merged_no"], merged_no.as_str());
    assert_eq!(detail["moved"]["contacts"], 1);
    assert_eq!(detail["reason"], "同一客户");
}

async fn merge_is_atomic_and_refuses_stale(store: Arc<dyn Store>) {
    let sid = create(&store, &org("甲公司")).await;
    let mid = create(&store, &org("乙公司")).await;
    store.add_contact(mid, &contact("钱二", "13900000002"), &ev(AuditAction::ContactAdd)).await.unwrap();
    let d = store.get_archive(sid).await.unwrap().unwrap().data;
    let audit_before = store.audit_head().await.unwrap().map(|r| r.seq);
    // A stale version of either side: nothing happens.
    for (sv, mv) in [(0, 1), (1, 0)] {
        let req = MergeRequest { survivor_id: sid, survivor_version: sv, merged_id: mid, merged_version: mv, data: d.clone(), reason: "r".into() };
        assert!(matches!(store.merge_archives(&req, &ev(AuditAction::ArchiveMerge)).await, Err(StoreError::Conflict { .. })));
    }
    // An unknown archive: refused too. Refusals leave both archives, their parts and the audit
    // trail as they were (everything happens in the one transaction, or nothing).
    let req = MergeRequest { survivor_id: sid, survivor_version: 1, merged_id: 999_999, merged_version: 1, data: d.clone(), reason: "r".into() };
    assert!(matches!(store.merge_archives(&req, &ev(AuditAction::ArchiveMerge)).await, Err(StoreError::NotFound)));
    assert_eq!(store.get_archive(sid).await.unwrap().unwrap().version, 1);
    assert_eq!(store.get_archive(mid).await.unwrap().unwrap().merged_into, None);
    assert_eq!(store.list_contacts(mid).await.unwrap().len(), 1);
    assert_eq!(store.audit_head().await.unwrap().map(|r| r.seq), audit_before);
    // Merged once; a second merge of the tombstone is refused.
    let ok = MergeRequest { survivor_id: sid, survivor_version: 1, merged_id: mid, merged_version: 1, data: d.clone(), reason: "r".into() };
    store.merge_archives(&ok, &ev(AuditAction::ArchiveMerge)).await.unwrap();
    let again = MergeRequest { survivor_version: 2, ..ok };
    assert!(matches!(store.merge_archives(&again, &ev(AuditAction::ArchiveMerge)).await, Err(StoreError::Conflict { .. })));
}

async fn bulk_load_and_reindex_keep_keys(store: Arc<dyn Store>) {
    let scheme = NumberScheme::default();
    let batch: Vec<BulkArchive> = (0..50)
        .map(|i| {
            let mut d = if i % 2 == 0 { person(&format!("陈{i}")) } else { org(&format!("温州华星{i}鞋业有限公司")) };
            d.mobile = Some(format!("1390000{:04}", i));
            BulkArchive::new(d, at(i as i64), vec![contact("李娜", &format!("1370000{:04}", i))], vec![]).unwrap()
        })
        .collect();
    store.begin_bulk_load().await.unwrap();
    store.bulk_load(batch, &scheme, "", &ev(AuditAction::ArchiveBulkCreate)).await.unwrap();
    store.end_bulk_load().await.unwrap();
    let mut probe = org("x");
    probe.mobile = Some("13900000007".into());
    let got = found(&store, &probe, None, &[], None).await;
    assert_eq!(got.len(), 1);
    let id = got[0].0;
    assert_eq!(store.get_archive(id).await.unwrap().unwrap().data.name, "温州华星7鞋业有限公司");
    let before = store.dedup_keys(id).await.unwrap();
    assert!(before.contains(&"p:13700000007".to_string()));
    store.reindex().await.unwrap();
    assert_eq!(store.dedup_keys(id).await.unwrap(), before, "reindex rebuilds the same keys");
    assert_eq!(store.duplicate_pairs(None, 100).await.unwrap().len(), 0, "no two bulk archives share a key");
}
