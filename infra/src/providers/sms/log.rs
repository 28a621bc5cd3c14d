//! The development SMS sender: nothing leaves the machine, the message is logged instead.
//!
//! By default only the template and our `out_id` are logged. With `sms.log_codes = true` a
//! verification code is logged too, with the phone masked, so a developer can sign in.

use zhijian_domain::ports::{BoxFuture, SmsError, SmsMessage, SmsReceipt, SmsSender, SmsTemplate};

use super::mask_phone;

/// Logs messages instead of sending them.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSmsSender {
    log_codes: bool,
}

impl LogSmsSender {
    /// A sender that logs verification codes (masked phone and parameters) when `log_codes`.
    pub fn new(log_codes: bool) -> Self {
        Self { log_codes }
    }

    /// The log line for `message`.
    fn describe(&self, message: &SmsMessage) -> String {
        let mut line = format!(
            "sms (log sender, not sent): template={:?} out_id={}",
            message.template, message.out_id
        );
        if self.log_codes && message.template == SmsTemplate::VerificationCode {
            line.push_str(&format!(
                " phone={} params={:?}",
                mask_phone(&message.phone),
                message.params
            ));
        }
        line
    }
}

impl SmsSender for LogSmsSender {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<SmsReceipt, SmsError>> {
        log::info!("{}", self.describe(message));
        let receipt = SmsReceipt {
            provider_id: format!("log-{}", uuid::Uuid::new_v4()),
        };
        Box::pin(std::future::ready(Ok(receipt)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(template: SmsTemplate) -> SmsMessage {
        SmsMessage {
            phone: "13812341234".to_owned(),
            template,
            params: vec!["654321".to_owned(), "5".to_owned()],
            out_id: "out-3".to_owned(),
        }
    }

    #[test]
    fn by_default_neither_the_phone_nor_the_code_is_logged() {
        let line = LogSmsSender::new(false).describe(&message(SmsTemplate::VerificationCode));
        assert!(
            line.contains("VerificationCode") && line.contains("out-3"),
            "{line}"
        );
        assert!(!line.contains("654321") && !line.contains("1234"), "{line}");
    }

    #[test]
    fn with_log_codes_a_code_is_logged_with_the_phone_masked() {
        let line = LogSmsSender::new(true).describe(&message(SmsTemplate::VerificationCode));
        assert!(
            line.contains("654321") && line.contains("138****1234"),
            "{line}"
        );
        assert!(!line.contains("13812341234"), "{line}");
    }

    #[test]
    fn with_log_codes_a_notification_still_hides_its_parameters() {
        let line = LogSmsSender::new(true).describe(&message(SmsTemplate::Notification));
        assert!(!line.contains("654321") && !line.contains("138"), "{line}");
    }

    #[tokio::test]
    async fn every_message_gets_its_own_receipt() {
        let sender = LogSmsSender::new(false);
        let a = sender
            .send(&message(SmsTemplate::Notification))
            .await
            .unwrap();
        let b = sender
            .send(&message(SmsTemplate::Notification))
            .await
            .unwrap();
        assert!(a.provider_id.starts_with("log-"));
        assert_ne!(a.provider_id, b.provider_id);
    }
}
