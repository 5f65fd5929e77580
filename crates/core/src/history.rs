//! Version history: field-level differences between two versions of an archive, and which
//! changes count as corrections of key fields (they need a reason).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::model::ArchiveData;

/// One field that differs between two versions. `path` is the field's place in the document
/// (`name`, `organization.uscc`, `custom.allergies`…); values are shown as text, `None` when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Key fields (关键字段): the customer's identity. Changing one that already had a value is a
/// correction and needs a reason.
pub const KEY_FIELDS: &[&str] = &["name", "organization.uscc", "person.id_number", "person.id_type"];

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&path, v, out);
            }
        }
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::Array(items) if items.is_empty() => {}
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// The document's fields as `path → text`.
pub fn fields_of(d: &ArchiveData) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten("", &serde_json::to_value(d).unwrap_or(Value::Null), &mut out);
    out
}

/// Fields that differ, in path order.
pub fn diff(before: &ArchiveData, after: &ArchiveData) -> Vec<FieldChange> {
    let (a, b) = (fields_of(before), fields_of(after));
    let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|p| a.get(*p) != b.get(*p))
        .map(|p| FieldChange { path: p.clone(), before: a.get(p).cloned(), after: b.get(p).cloned() })
        .collect()
}

/// Key fields whose earlier value was changed or removed (filling an empty one is no correction).
pub fn corrected_key_fields(changes: &[FieldChange]) -> Vec<&'static str> {
    KEY_FIELDS.iter().copied().filter(|k| changes.iter().any(|c| c.path == *k && c.before.is_some())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CustomerKind, OrganizationInfo};

    #[test]
    fn diff_lists_changed_added_and_removed_fields() {
        let mut a = ArchiveData::new(CustomerKind::Organization, "杭州华星建材有限公司");
        a.mobile = Some("13800001234".into());
        let mut b = a.clone();
        b.name = "杭州华星建材股份有限公司".into();
        b.mobile = None;
        b.address = Some("杭州市西湖区文三路 1 号".into());
        b.custom.insert("allergies".into(), Value::String("青霉素".into()));
        let d = diff(&a, &b);
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["address", "custom.allergies", "mobile", "name"]);
        assert_eq!(d[2].before.as_deref(), Some("13800001234"));
        assert_eq!(d[2].after, None);
        assert_eq!(corrected_key_fields(&d), ["name"]);
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn filling_an_empty_key_field_is_not_a_correction() {
        let a = ArchiveData::new(CustomerKind::Organization, "华星");
        let mut b = a.clone();
        b.organization = Some(OrganizationInfo { uscc: Some("91330106MA27XXXX0X".into()), ..Default::default() });
        assert!(corrected_key_fields(&diff(&a, &b)).is_empty());
        let mut c = b.clone();
        c.organization.as_mut().unwrap().uscc = Some("91330106MA27YYYY0X".into());
        assert_eq!(corrected_key_fields(&diff(&b, &c)), ["organization.uscc"]);
    }
}
