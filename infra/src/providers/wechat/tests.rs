//! The WeChat client against a local stub of the API.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use zhijian_domain::ports::{SubscribeMessage, WeChat, WeChatError};

use super::*;
use crate::providers::http_client::stub::{Recorded, Reply, Stub};

const APPID: &str = "wx-test-app";
const SECRET: &str = "app-secret-value";

fn make_client(stub: &Stub, timeout_ms: u64) -> WeChatClient {
    let config = WeChatConfig {
        base_url: format!("{}/", stub.base_url),
        appid: APPID.to_owned(),
        secret: Secret::new(SECRET),
        timeout_ms,
        miniprogram_state: "formal".to_owned(),
    };
    WeChatClient::new(config, Arc::new(MemoryTokenCache::new())).unwrap()
}

fn token_reply(token: &str) -> Reply {
    Reply::json(json!({"access_token": token, "expires_in": 7200}))
}

fn phone_ok(appid: &str, country: Value) -> Reply {
    Reply::json(json!({
        "errcode": 0, "errmsg": "ok",
        "phone_info": {
            "phoneNumber": "+8613800001234", "purePhoneNumber": "13800001234",
            "countryCode": country,
            "watermark": {"timestamp": 1637744274, "appid": appid}
        }
    }))
}

fn login_with(reply: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> (Stub, WeChatClient) {
    let stub = Stub::start(reply);
    let client = make_client(&stub, 1000);
    (stub, client)
}

#[test]
fn an_empty_section_deserialises_to_the_defaults() {
    let config: WeChatConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(config.base_url, "https://api.weixin.qq.com");
    assert_eq!(config.timeout_ms, 3000);
    assert_eq!(config.miniprogram_state, "formal");
    assert!(format!("{config:?}").contains("<redacted>"));
}

#[test]
fn a_client_needs_an_appid_and_a_secret() {
    let cache: Arc<dyn AccessTokenCache> = Arc::new(MemoryTokenCache::new());
    let error = WeChatClient::new(WeChatConfig::default(), Arc::clone(&cache)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "wechat.appid is empty: set it in the configuration or with APP__WECHAT__APPID"
    );
    let config = WeChatConfig {
        appid: APPID.to_owned(),
        ..WeChatConfig::default()
    };
    assert!(matches!(
        WeChatClient::new(config, Arc::clone(&cache)),
        Err(WeChatConfigError::Missing("secret"))
    ));
    let config = WeChatConfig {
        appid: APPID.to_owned(),
        secret: Secret::new("s"),
        miniprogram_state: "prod".to_owned(),
        ..WeChatConfig::default()
    };
    assert!(matches!(
        WeChatClient::new(config, cache),
        Err(WeChatConfigError::BadMiniprogramState(_))
    ));
}

#[tokio::test]
async fn login_sends_the_documented_query_and_returns_the_session() {
    let (stub, client) = login_with(|_| {
        Reply::json(json!({"openid": "o-1", "session_key": "sk", "unionid": "u-1"}))
    });
    let session = client.code_to_session("the-code").await.unwrap();
    assert_eq!(session.openid, "o-1");
    assert_eq!(session.unionid.as_deref(), Some("u-1"));
    assert_eq!(session.session_key, "sk");
    let seen = &stub.requests()[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.path(), "/sns/jscode2session");
    assert_eq!(seen.query("appid").as_deref(), Some(APPID));
    assert_eq!(seen.query("secret").as_deref(), Some(SECRET));
    assert_eq!(seen.query("js_code").as_deref(), Some("the-code"));
    assert_eq!(
        seen.query("grant_type").as_deref(),
        Some("authorization_code")
    );
}

#[tokio::test]
async fn login_accepts_errcode_zero_and_no_unionid() {
    let (_stub, client) = login_with(|_| {
        Reply::json(json!({"errcode": 0, "errmsg": "ok", "openid": "o-2", "session_key": "sk"}))
    });
    let session = client.code_to_session("c").await.unwrap();
    assert_eq!(session.openid, "o-2");
    assert_eq!(session.unionid, None);
}

#[tokio::test]
async fn login_maps_every_documented_errcode() {
    let cases = [
        (40029, WeChatError::InvalidCode),
        (40163, WeChatError::InvalidCode),
        (45011, WeChatError::RateLimited),
        (40226, WeChatError::UserBlocked),
        (40013, WeChatError::Unavailable("errcode 40013".to_owned())),
        (40125, WeChatError::Unavailable("errcode 40125".to_owned())),
        (
            61234,
            WeChatError::Other {
                code: 61234,
                message: "boom".to_owned(),
            },
        ),
    ];
    for (code, expected) in cases {
        let (_stub, client) =
            login_with(move |_| Reply::json(json!({"errcode": code, "errmsg": "boom"})));
        assert_eq!(
            client.code_to_session("c").await.unwrap_err(),
            expected,
            "errcode {code}"
        );
    }
}

#[tokio::test]
async fn a_busy_login_is_retried_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let (stub, client) = login_with(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::json(json!({"errcode": -1, "errmsg": "system error"}))
        } else {
            Reply::json(json!({"openid": "o-3", "session_key": "sk"}))
        }
    });
    assert_eq!(client.code_to_session("c").await.unwrap().openid, "o-3");
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn a_login_still_busy_after_the_retry_is_rate_limited() {
    let (stub, client) =
        login_with(|_| Reply::json(json!({"errcode": -1, "errmsg": "system error"})));
    assert_eq!(
        client.code_to_session("c").await.unwrap_err(),
        WeChatError::RateLimited
    );
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn a_5xx_a_bad_body_or_a_timeout_is_unavailable_and_never_shows_the_secret() {
    let (_stub, client) = login_with(|_| Reply::status(502, "bad gateway"));
    let error = client.code_to_session("c").await.unwrap_err();
    assert!(
        matches!(&error, WeChatError::Unavailable(m) if m.contains("502")),
        "{error:?}"
    );

    let (_stub, client) = login_with(|_| Reply::status(200, "<html>"));
    assert!(matches!(
        client.code_to_session("c").await,
        Err(WeChatError::Unavailable(_))
    ));

    let stub = Stub::start(|_| Reply::json(json!({})).delayed(Duration::from_millis(600)));
    let client = make_client(&stub, 100);
    let error = client.code_to_session("c").await.unwrap_err();
    let WeChatError::Unavailable(message) = &error else {
        panic!("{error:?}")
    };
    assert!(message.contains("timed out"), "{message}");
    assert!(!format!("{error} {error:?}").contains(SECRET));
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let config = WeChatConfig {
        base_url: format!("http://{address}"),
        appid: APPID.to_owned(),
        secret: Secret::new(SECRET),
        ..WeChatConfig::default()
    };
    let client = WeChatClient::new(config, Arc::new(MemoryTokenCache::new())).unwrap();
    assert!(matches!(
        client.code_to_session("c").await,
        Err(WeChatError::Unavailable(_))
    ));
}

fn phone_stub(country: Value, appid: &'static str) -> Stub {
    Stub::start(move |r| match r.path() {
        "/cgi-bin/stable_token" => token_reply("tok-1"),
        _ => phone_ok(appid, country.clone()),
    })
}

#[tokio::test]
async fn the_phone_number_is_fetched_with_a_cached_access_token() {
    let stub = phone_stub(json!("86"), APPID);
    let client = make_client(&stub, 1000);
    assert_eq!(client.phone_number("p-code").await.unwrap(), "13800001234");
    assert_eq!(
        client.phone_number("p-code-2").await.unwrap(),
        "13800001234"
    );

    let tokens = stub.requests_to("/cgi-bin/stable_token");
    assert_eq!(tokens.len(), 1, "the token is cached");
    assert_eq!(
        tokens[0].json(),
        json!({"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": false})
    );
    let calls = stub.requests_to("/wxa/business/getuserphonenumber");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].query("access_token").as_deref(), Some("tok-1"));
    assert_eq!(calls[0].json(), json!({"code": "p-code"}));
}

#[tokio::test]
async fn a_numeric_country_code_is_accepted() {
    let stub = phone_stub(json!(86), APPID);
    assert_eq!(
        make_client(&stub, 1000).phone_number("c").await.unwrap(),
        "13800001234"
    );
}

#[tokio::test]
async fn a_foreign_number_is_refused() {
    let stub = phone_stub(json!("852"), APPID);
    let error = make_client(&stub, 1000)
        .phone_number("c")
        .await
        .unwrap_err();
    assert!(
        matches!(error, WeChatError::Other { code: 0, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_phone_number_watermarked_for_another_app_is_an_invalid_code() {
    let stub = phone_stub(json!("86"), "wx-someone-else");
    assert_eq!(
        make_client(&stub, 1000)
            .phone_number("c")
            .await
            .unwrap_err(),
        WeChatError::InvalidCode
    );
}

#[tokio::test]
async fn an_invalid_phone_code_is_reported() {
    let stub = Stub::start(|r| match r.path() {
        "/cgi-bin/stable_token" => token_reply("tok"),
        _ => Reply::json(json!({"errcode": 40029, "errmsg": "invalid code"})),
    });
    assert_eq!(
        make_client(&stub, 1000)
            .phone_number("c")
            .await
            .unwrap_err(),
        WeChatError::InvalidCode
    );
}

#[tokio::test]
async fn an_expired_token_is_force_refreshed_once_and_the_call_retried() {
    let stub = Stub::start(|r| match r.path() {
        "/cgi-bin/stable_token" if r.json()["force_refresh"] == json!(true) => token_reply("fresh"),
        "/cgi-bin/stable_token" => token_reply("stale"),
        _ if r.query("access_token").as_deref() == Some("stale") => {
            Reply::json(json!({"errcode": 42001, "errmsg": "access_token expired"}))
        }
        _ => phone_ok(APPID, json!("86")),
    });
    let client = make_client(&stub, 1000);
    assert_eq!(client.phone_number("c").await.unwrap(), "13800001234");
    assert_eq!(stub.requests_to("/cgi-bin/stable_token").len(), 2);
    // The fresh token is cached for the next call.
    assert_eq!(client.phone_number("c").await.unwrap(), "13800001234");
    assert_eq!(stub.requests_to("/cgi-bin/stable_token").len(), 2);
}

#[tokio::test]
async fn a_token_refused_again_after_the_refresh_is_unavailable() {
    let stub = Stub::start(|r| match r.path() {
        "/cgi-bin/stable_token" => token_reply("tok"),
        _ => Reply::json(json!({"errcode": 40001, "errmsg": "invalid credential"})),
    });
    let error = make_client(&stub, 1000)
        .phone_number("c")
        .await
        .unwrap_err();
    assert!(matches!(error, WeChatError::Unavailable(_)), "{error:?}");
    assert_eq!(
        stub.requests_to("/wxa/business/getuserphonenumber").len(),
        2
    );
}

#[tokio::test]
async fn a_refused_stable_token_is_unavailable() {
    let stub = Stub::start(|_| Reply::json(json!({"errcode": 40164, "errmsg": "invalid ip"})));
    let error = make_client(&stub, 1000)
        .phone_number("c")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, WeChatError::Unavailable(m) if m.contains("40164")),
        "{error:?}"
    );
}

#[tokio::test]
async fn concurrent_calls_fetch_the_token_once() {
    let stub = Stub::start(|r| match r.path() {
        "/cgi-bin/stable_token" => token_reply("tok").delayed(Duration::from_millis(150)),
        _ => phone_ok(APPID, json!("86")),
    });
    let client = make_client(&stub, 2000);
    let (a, b, c) = tokio::join!(
        client.phone_number("1"),
        client.phone_number("2"),
        client.phone_number("3")
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    assert_eq!(stub.requests_to("/cgi-bin/stable_token").len(), 1);
}

fn message() -> SubscribeMessage {
    SubscribeMessage {
        openid: "o-9".to_owned(),
        template_id: "tpl-1".to_owned(),
        page: "pages/application/detail?id=1".to_owned(),
        data: vec![
            (
                "thing1".to_owned(),
                "入会申请已由所在地基层工会审核通过，请查看详情".to_owned(),
            ),
            ("phrase2".to_owned(), "已通过".to_owned()),
            ("time3".to_owned(), "2026-11-23 10:00".to_owned()),
        ],
    }
}

#[tokio::test]
async fn a_subscribe_message_has_the_documented_body_and_returns_the_msgid() {
    let stub = Stub::start(|r| match r.path() {
        "/cgi-bin/stable_token" => token_reply("tok"),
        _ => Reply::json(json!({"errcode": 0, "errmsg": "ok", "msgid": 294402298110051942_i64})),
    });
    let msgid = make_client(&stub, 1000)
        .send_subscribe_message(&message())
        .await
        .unwrap();
    assert_eq!(msgid, 294402298110051942);
    let sent = &stub.requests_to("/cgi-bin/message/subscribe/send")[0];
    assert_eq!(sent.query("access_token").as_deref(), Some("tok"));
    assert_eq!(
        sent.json(),
        json!({
            "touser": "o-9",
            "template_id": "tpl-1",
            "page": "pages/application/detail?id=1",
            "miniprogram_state": "formal",
            "lang": "zh_CN",
            "data": {
                "thing1": {"value": "入会申请已由所在地基层工会审核通过，请…"},
                "phrase2": {"value": "已通过"},
                "time3": {"value": "2026-11-23 10:00"}
            }
        })
    );
}

#[tokio::test]
async fn an_unsubscribed_user_is_reported() {
    let stub = Stub::start(|r| match r.path() {
        "/cgi-bin/stable_token" => token_reply("tok"),
        _ => Reply::json(json!({"errcode": 43101, "errmsg": "user refuse to accept the msg"})),
    });
    let error = make_client(&stub, 1000)
        .send_subscribe_message(&message())
        .await
        .unwrap_err();
    assert_eq!(error, WeChatError::NotSubscribed);
}

#[test]
fn values_are_cut_by_characters_to_the_limit_of_their_type() {
    let long = "一二三四五六七八九十一二三四五六七八九十一二三四五";
    let thing = truncate_value("thing1", long);
    assert_eq!(thing.chars().count(), 20);
    assert!(thing.ends_with('…'));
    assert_eq!(truncate_value("thing12", "短"), "短");
    assert_eq!(
        truncate_value("thing1", &long[..60]),
        &long[..60],
        "exactly 20 characters pass"
    );
    assert_eq!(truncate_value("phrase2", "审核已经通过了"), "审核已经通");
    assert_eq!(
        truncate_value("name3", "欧阳一二三四五六七八九"),
        "欧阳一二三四五六七八"
    );
    assert_eq!(
        truncate_value("character_string4", &"A".repeat(40)),
        "A".repeat(32)
    );
    assert_eq!(truncate_value("number5", &"9".repeat(33)), "9".repeat(32));
    assert_eq!(truncate_value("time6", &"x".repeat(50)), "x".repeat(50));
}

#[tokio::test]
async fn the_memory_cache_forgets_expired_tokens() {
    let cache = MemoryTokenCache::new();
    assert_eq!(cache.get().await, None);
    cache.put("t", Duration::from_secs(60)).await;
    assert_eq!(cache.get().await.as_deref(), Some("t"));
    cache.put("t2", Duration::ZERO).await;
    assert_eq!(cache.get().await, None);
}
