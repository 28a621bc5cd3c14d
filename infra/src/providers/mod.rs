//! The providers reached over HTTP: the WeChat mini-program server API and SMS.

pub mod http_client;
pub mod sms;
pub mod wechat;
