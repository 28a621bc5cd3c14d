//! `[notifications]`: the words of every notification, and how the facts of an event fill
//! them in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use zhijian_domain::notification_route::{ROUTES, Route};

use crate::providers::wechat::truncate_value;

/// `[notifications]` settings: the words of every notification.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NotificationsConfig {
    /// Template key → template.
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateConfig>,
}

/// One notification's words. Values may quote the event's facts as `{name}`: every top-level
/// field of the payload (`membership_number`, `reason`, `status` …), `union_name`,
/// `status_label`, `due_at` and `time` (the event's time), both as `YYYY-MM-DD HH:mm` in
/// Beijing time. A missing fact reads `-`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TemplateConfig {
    /// WeChat subscribe-message template id (from the mini-program console); empty: SMS only.
    pub template_id: String,
    /// Mini-program page the message opens.
    pub page: String,
    /// WeChat field (`thing1`, `phrase2`, `time3` …) → value; cut to the field type's limit.
    pub fields: BTreeMap<String, String>,
    /// Parameters of the SMS notification template, in order; each cut to 35 characters.
    pub sms: Vec<String>,
}

/// Field types of subscribe messages.
const FIELD_KINDS: &[&str] = &[
    "thing",
    "phrase",
    "name",
    "character_string",
    "number",
    "time",
    "date",
    "amount",
    "letter",
    "symbol",
    "phone_number",
    "car_number",
];

/// Longest SMS template parameter sent (Aliyun's limit for a variable).
const SMS_PARAM_CHARS: usize = 35;

impl NotificationsConfig {
    /// Checks that every template a route uses exists, has SMS words (the fallback of every
    /// notification), and names only real WeChat field types.
    pub fn validate(&self) -> Result<(), String> {
        for key in ROUTES.iter().flat_map(Route::templates) {
            let template = self.templates.get(key).ok_or_else(|| {
                format!("notifications.templates.{key} is missing (see config/default.toml)")
            })?;
            if template.sms.is_empty() {
                return Err(format!(
                    "notifications.templates.{key}.sms is empty: SMS is every notification's fallback"
                ));
            }
            if !template.template_id.is_empty() && template.fields.is_empty() {
                return Err(format!(
                    "notifications.templates.{key}.fields is empty but a template_id is set"
                ));
            }
            for field in template.fields.keys() {
                let kind = field.trim_end_matches(|c: char| c.is_ascii_digit());
                if kind.len() == field.len() || !FIELD_KINDS.contains(&kind) {
                    return Err(format!(
                        "notifications.templates.{key}.fields.{field}: not a WeChat field name (thing1, phrase2, time3 …)"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The facts a template may quote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts(BTreeMap<String, String>);

impl Facts {
    /// The top-level strings and numbers of a payload.
    pub fn from_payload(payload: &Value) -> Self {
        let mut facts = BTreeMap::new();
        if let Some(object) = payload.as_object() {
            for (key, value) in object {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                facts.insert(key.clone(), text);
            }
        }
        Self(facts)
    }

    /// Sets a fact.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_owned(), value.into());
    }

    /// A fact.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// `text` with every `{name}` replaced by its fact (`-` when missing or empty).
    pub fn render(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let value = self.get(&after[..close]).filter(|v| !v.trim().is_empty());
                    out.push_str(value.unwrap_or("-"));
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// `YYYY-MM-DD HH:mm`, Beijing time: the `time` field format of subscribe messages.
pub fn local_minute(instant: DateTime<Utc>) -> String {
    zhijian_domain::calendar::to_local(instant)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The subscribe-message data of `template` for `facts`: values rendered and cut to their
/// field type's limit; a `time` field that does not render to a time shows the event's time.
pub fn wechat_data(template: &TemplateConfig, facts: &Facts) -> Vec<(String, String)> {
    template
        .fields
        .iter()
        .map(|(field, value)| {
            let mut rendered = facts.render(value);
            let kind = field.trim_end_matches(|c: char| c.is_ascii_digit());
            if kind == "time"
                && chrono::NaiveDateTime::parse_from_str(&rendered, "%Y-%m-%d %H:%M").is_err()
            {
                rendered = facts.get("time").unwrap_or_default().to_owned();
            }
            (field.clone(), truncate_value(field, &rendered))
        })
        .collect()
}

/// The SMS parameters of `template` for `facts`, each cut to [`SMS_PARAM_CHARS`].
pub fn sms_params(template: &TemplateConfig, facts: &Facts) -> Vec<String> {
    template
        .sms
        .iter()
        .map(|param| facts.render(param).chars().take(SMS_PARAM_CHARS).collect())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    pub(crate) fn template(fields: &[(&str, &str)], sms: &[&str]) -> TemplateConfig {
        TemplateConfig {
            template_id: "tpl".into(),
            page: "pages/application/detail?id={application_id}".into(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            sms: sms.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn placeholders_are_filled_from_the_payload_and_missing_ones_read_a_dash() {
        let mut facts = Facts::from_payload(&json!({
            "application_id": "a-1", "union_id": 7, "reason": null, "membership_number": "5002372600000011"
        }));
        facts.set("union_name", "巫山县快递行业工会联合会");
        assert_eq!(
            facts.render("id={application_id}&u={union_id}"),
            "id=a-1&u=7"
        );
        assert_eq!(facts.render("{reason}"), "-");
        assert_eq!(
            facts.render("{unknown} {membership_number}"),
            "- 5002372600000011"
        );
        assert_eq!(facts.render("no braces"), "no braces");
        assert_eq!(facts.render("open { only"), "open { only");
    }

    #[test]
    fn wechat_values_fit_their_field_type_and_a_bad_time_shows_the_event_time() {
        let mut facts = Facts::default();
        facts.set("union_name", "一二三四五六七八九十一二三四五六七八九十一");
        facts.set("time", "2026-11-23 10:00");
        let data = wechat_data(
            &template(
                &[
                    ("thing1", "{union_name}入会申请"),
                    ("phrase2", "审核已经通过了"),
                    ("time3", "{due_at}"),
                ],
                &[],
            ),
            &facts,
        );
        assert_eq!(data[0].0, "phrase2");
        assert_eq!(data[0].1, "审核已经通");
        assert_eq!(data[1].1.chars().count(), 20);
        assert!(data[1].1.ends_with('…'));
        assert_eq!(data[2], ("time3".to_owned(), "2026-11-23 10:00".to_owned()));
    }

    #[test]
    fn sms_parameters_are_cut_to_thirty_five_characters() {
        let mut facts = Facts::default();
        facts.set("reason", "很".repeat(50));
        let params = sms_params(&template(&[], &["入会申请未通过", "{reason}"]), &facts);
        assert_eq!(params[0], "入会申请未通过");
        assert_eq!(params[1].chars().count(), 35);
    }

    #[test]
    fn the_configuration_must_cover_every_route_with_sms_words() {
        let mut config = NotificationsConfig::default();
        assert!(
            config
                .validate()
                .unwrap_err()
                .contains("notifications.templates.")
        );
        for key in ROUTES.iter().flat_map(Route::templates) {
            config
                .templates
                .insert(key.to_owned(), template(&[("thing1", "x")], &["a"]));
        }
        assert_eq!(config.validate(), Ok(()));
        config
            .templates
            .insert("admin_overdue".into(), template(&[("thing1", "x")], &[]));
        assert!(config.validate().unwrap_err().contains("admin_overdue.sms"));
        config.templates.insert(
            "admin_overdue".into(),
            template(&[("colour1", "x")], &["a"]),
        );
        assert!(config.validate().unwrap_err().contains("colour1"));
    }
}
