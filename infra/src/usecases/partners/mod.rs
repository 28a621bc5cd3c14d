//! Partner platforms (issue 15), one use case per operation (see [`crate::usecases`]):
//!
//! - clients, by a manager of a root union or the command line: [`create_client`],
//!   [`list_clients`], [`get_client`], [`rotate_secret`], [`set_client_disabled`]; and the
//!   token endpoint's [`authenticate_client`], the partner routes' [`enabled_client`];
//! - the worker's consent: [`create_consent_request`] (the partner), [`grant_consent`],
//!   [`list_consents`], [`withdraw_consent`] (the worker);
//! - intake: [`submit_for_partner`], [`partner_application`];
//! - verification: [`verify_member_by_card`], [`verify_member_by_identity`];
//! - webhooks: [`create_webhook_endpoint`] and the endpoint and delivery-log use cases.

mod clients;
mod consents;
mod intake;
mod verify;
mod webhooks;

pub use clients::{
    AuthenticateError, ClientError, ClientManager, ClientWithSecret, NewClient,
    authenticate_client, create_client, enabled_client, get_client, list_clients, rotate_secret,
    secret_hash, set_client_disabled,
};
pub use consents::{
    ConsentView, GrantError, GrantTarget, WithdrawConsentError, create_consent_request,
    grant_consent, list_consents, withdraw_consent,
};
pub use intake::{IntakeError, PartnerReadError, partner_application, submit_for_partner};
pub use verify::{Verified, VerifyError, verify_member_by_card, verify_member_by_identity};
pub use webhooks::{
    WebhookEndpointError, create_webhook_endpoint, disable_webhook_endpoint, get_webhook_endpoint,
    list_webhook_deliveries, list_webhook_endpoints, redeliver_webhook, rotate_webhook_secret,
};
