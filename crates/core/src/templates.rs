//! Industry templates: typed custom fields for the trades that keep customer files differently
//! (hotel guest histories 客史档案, car dealers' 一车一档, membership files 会员档案, insurance).
//!
//! An archive names its template in `template`; its `custom` map is then checked against the
//! template's schema: only known keys, each value of the declared type, required keys present.
//! Templates are data, so a new trade is a new entry in `TEMPLATES`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use crate::model::Money;
use crate::validate::{parse_date, ErrorCode, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "choices")]
pub enum FieldType {
    Text,
    Date,
    Integer,
    Money,
    /// One of the listed values.
    Choice(&'static [&'static str]),
    /// A 17-character vehicle identification number with a valid check digit (GB 16735 / ISO 3779).
    Vin,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct TemplateField {
    pub key: &'static str,
    pub label_zh: &'static str,
    pub label_en: &'static str,
    #[serde(flatten)]
    pub ty: FieldType,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct IndustryTemplate {
    pub name: &'static str,
    pub label_zh: &'static str,
    pub label_en: &'static str,
    pub fields: &'static [TemplateField],
}

const fn f(key: &'static str, label_zh: &'static str, label_en: &'static str, ty: FieldType, required: bool) -> TemplateField {
    TemplateField { key, label_zh, label_en, ty, required }
}

pub const TEMPLATES: &[IndustryTemplate] = &[
    IndustryTemplate {
        name: "hotel_guest",
        label_zh: "酒店客史档案",
        label_en: "Hotel guest history",
        fields: &[
            f("room_preference", "房型偏好", "Room preference", FieldType::Text, false),
            f("pillow", "枕头偏好", "Pillow preference", FieldType::Choice(&["软枕", "硬枕", "荞麦枕", "记忆枕"]), false),
            f("diet", "饮食禁忌", "Dietary restrictions", FieldType::Text, false),
            f("stays", "入住次数", "Stays", FieldType::Integer, false),
            f("last_stay_on", "最近入住", "Last stay", FieldType::Date, false),
            f("total_spent", "累计消费", "Total spent", FieldType::Money, false),
            f("vip_level", "贵宾等级", "VIP level", FieldType::Choice(&["普通", "银卡", "金卡", "白金卡"]), false),
        ],
    },
    IndustryTemplate {
        name: "vehicle",
        label_zh: "一车一档（车辆档案）",
        label_en: "Vehicle file",
        fields: &[
            f("vin", "车架号（VIN）", "VIN", FieldType::Vin, true),
            f("engine_no", "发动机号", "Engine number", FieldType::Text, false),
            f("plate_no", "车牌号", "Plate number", FieldType::Text, false),
            f("model", "车型", "Model", FieldType::Text, true),
            f("purchased_on", "购车日期", "Purchased on", FieldType::Date, false),
            // The new-car file is due 3 working days after delivery (交车), the after-sales file
            // 1 working day after the serviced car is handed back (see `checklist.rs`).
            f("delivered_on", "交车日期", "Delivered on", FieldType::Date, false),
            f("serviced_on", "最近售后交车日期", "Last serviced on", FieldType::Date, false),
            f("price", "成交价", "Price", FieldType::Money, false),
            f("insurance_until", "保险到期", "Insurance until", FieldType::Date, false),
            f("mileage_km", "行驶里程（公里）", "Mileage (km)", FieldType::Integer, false),
        ],
    },
    IndustryTemplate {
        name: "membership",
        label_zh: "会员档案",
        label_en: "Membership file",
        fields: &[
            f("card_no", "会员卡号", "Card number", FieldType::Text, true),
            f("card_type", "卡类型", "Card type", FieldType::Choice(&["次卡", "储值卡", "年卡", "季卡", "月卡"]), true),
            f("valid_until", "有效期至", "Valid until", FieldType::Date, false),
            f("remaining_sessions", "剩余次数", "Remaining sessions", FieldType::Integer, false),
            f("balance", "卡内余额", "Balance", FieldType::Money, false),
            f("guardian", "监护人（未满14岁）", "Guardian (under 14)", FieldType::Text, false),
        ],
    },
    IndustryTemplate {
        name: "insurance",
        label_zh: "保险客户档案",
        label_en: "Insurance client",
        fields: &[
            f("policy_no", "保单号", "Policy number", FieldType::Text, false),
            f("product", "险种", "Product", FieldType::Text, false),
            f("premium", "年缴保费", "Annual premium", FieldType::Money, false),
            f("renewal_on", "续保日期", "Renewal date", FieldType::Date, false),
            f("prospect_grade", "准客户等级", "Prospect grade", FieldType::Choice(&["A", "B", "C", "D"]), false),
        ],
    },
];

pub fn find(name: &str) -> Option<&'static IndustryTemplate> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// GB 16735 / ISO 3779 check digit (position 9) of a 17-character VIN.
pub fn vin_check_digit(vin: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    fn value(c: char) -> Option<u32> {
        Some(match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A' | 'J' => 1,
            'B' | 'K' | 'S' => 2,
            'C' | 'L' | 'T' => 3,
            'D' | 'M' | 'U' => 4,
            'E' | 'N' | 'V' => 5,
            'F' | 'W' => 6,
            'G' | 'P' | 'X' => 7,
            'H' | 'Y' => 8,
            'R' | 'Z' => 9,
            _ => return None, // I, O, Q never appear in a VIN
        })
    }
    let chars: Vec<char> = vin.chars().collect();
    if chars.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in chars.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    Some(match sum % 11 {
        10 => 'X',
        r => char::from_digit(r, 10).expect("digit"),
    })
}

pub fn check_vin(vin: &str) -> bool {
    let v = vin.trim().to_ascii_uppercase();
    vin_check_digit(&v).is_some_and(|c| v.chars().nth(8) == Some(c))
}

fn value_ok(ty: FieldType, v: &Value) -> bool {
    match (ty, v) {
        (_, Value::Null) => true,
        (FieldType::Text, Value::String(_)) => true,
        (FieldType::Date, Value::String(s)) => parse_date(s).is_ok(),
        (FieldType::Integer, Value::Number(n)) => n.is_i64(),
        (FieldType::Integer, Value::String(s)) => s.trim().parse::<i64>().is_ok(),
        (FieldType::Money, Value::Number(_)) => true,
        (FieldType::Money, Value::String(s)) => s.parse::<Money>().is_ok(),
        (FieldType::Choice(options), Value::String(s)) => options.contains(&s.as_str()),
        (FieldType::Vin, Value::String(s)) => check_vin(s),
        _ => false,
    }
}

/// Every problem of `custom` under `template`: unknown template, unknown keys, wrong types,
/// missing required fields. Field paths are `custom.<key>`; `template` for an unknown template.
pub fn validate_custom(template: Option<&str>, custom: &BTreeMap<String, Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(name) = template else {
        // Without a template, custom fields are free-form notes; nothing to check.
        return errs;
    };
    let Some(t) = find(name) else {
        errs.push(FieldError::new("template", ErrorCode::Template));
        return errs;
    };
    for (key, value) in custom {
        match t.fields.iter().find(|f| f.key == key) {
            Some(f) if value_ok(f.ty, value) => {}
            _ => errs.push(FieldError::new(format!("custom.{key}"), ErrorCode::Template)),
        }
    }
    for f in t.fields.iter().filter(|f| f.required) {
        if custom.get(f.key).is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())) {
            errs.push(FieldError::new(format!("custom.{}", f.key), ErrorCode::Required));
        }
    }
    errs
}

/// A date-typed custom value, for reminders (e.g. insurance_until, valid_until).
pub fn custom_date(custom: &BTreeMap<String, Value>, key: &str) -> Option<NaiveDate> {
    custom.get(key).and_then(Value::as_str).and_then(|s| parse_date(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn vin_check_digit_matches_published_examples() {
        // Examples with published check digits (position 9).
        assert!(check_vin("1M8GDM9AXKP042788"));
        assert!(check_vin("LSVAM4187C2184847"));
        assert!(!check_vin("1M8GDM9A1KP042788"));
        assert!(!check_vin("1M8GDM9AXKP04278")); // 16 characters
        assert!(!check_vin("IM8GDM9AXKP042788")); // I is not allowed
    }

    #[test]
    fn vehicle_template_checks_types_and_required() {
        let ok = map(json!({"vin": "LSVAM4187C2184847", "model": "朗逸 1.5L", "purchased_on": "2023年3月4日", "price": "129800.00", "mileage_km": 12000}));
        assert!(validate_custom(Some("vehicle"), &ok).is_empty());
        let bad = map(json!({"vin": "LSVAM4180C2184847", "purchased_on": "2023-02-30", "color": "red"}));
        let errs = validate_custom(Some("vehicle"), &bad);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"custom.vin"));
        assert!(fields.contains(&"custom.purchased_on"));
        assert!(fields.contains(&"custom.color"), "unknown keys are refused");
        assert!(fields.contains(&"custom.model"), "required key missing");
    }

    #[test]
    fn unknown_template_and_choices() {
        assert_eq!(validate_custom(Some("spaceship"), &BTreeMap::new())[0].field, "template");
        let m = map(json!({"card_no": "M0001", "card_type": "次卡", "remaining_sessions": 11}));
        assert!(validate_custom(Some("membership"), &m).is_empty());
        let m = map(json!({"card_no": "M0001", "card_type": "金币卡"}));
        assert_eq!(validate_custom(Some("membership"), &m)[0].field, "custom.card_type");
        assert!(validate_custom(None, &map(json!({"anything": 1}))).is_empty());
    }
}
