//! The catalogue of error codes: every `code` an error response can carry, in one enum.
//!
//! A code is a stable, snake_case name a client can switch on; its meaning never changes once
//! released. Domain errors name their code here (`ResidentIdError::code`), the API maps each
//! code to its HTTP status once, and `openapi.yaml` lists the same set as the `Error.code`
//! enum and, per operation, the codes that operation answers (`x-error-codes`) — a test keeps
//! the three in agreement.

use std::fmt;

macro_rules! catalogue {
    ($($variant:ident => $code:literal,)+) => {
        /// A stable error code (see the module documentation).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $code, "`")]
                $variant,
            )+
        }

        impl ErrorCode {
            /// Every code, in the order of the catalogue.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The code as it travels: snake_case.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// The code named by `s`, if it is one of the catalogue.
            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s {
                    $($code => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

catalogue! {
    AccountLocked => "account_locked",
    AdminAlreadyDisabled => "admin_already_disabled",
    AdminNotDisabled => "admin_not_disabled",
    AlreadyApproved => "already_approved",
    AlreadyMember => "already_member",
    ApplicantTooYoung => "applicant_too_young",
    ApplicationExists => "application_exists",
    ApplicationMissingReturnedAt => "application_missing_returned_at",
    ApplicationNotOpen => "application_not_open",
    ApplicationNotPending => "application_not_pending",
    ApplicationNotPooled => "application_not_pooled",
    ApplicationNotReturned => "application_not_returned",
    ApplicationNotYetExpired => "application_not_yet_expired",
    AssignToSameUnion => "assign_to_same_union",
    BadRequest => "bad_request",
    BenefitAlreadyUsed => "benefit_already_used",
    BenefitExpired => "benefit_expired",
    BenefitInsurerRequired => "benefit_insurer_required",
    BenefitNotHeld => "benefit_not_held",
    BenefitOtherStation => "benefit_other_station",
    BlankFieldToFix => "blank_field_to_fix",
    CalendarCsvHeader => "calendar_csv_header",
    CalendarCsvNotUtf8 => "calendar_csv_not_utf8",
    CalendarCsvRow => "calendar_csv_row",
    CalendarDayDuplicate => "calendar_day_duplicate",
    CalendarDayOutsideYear => "calendar_day_outside_year",
    CalendarWeekendRestUnnamed => "calendar_weekend_rest_unnamed",
    CalendarWorkOnWeekday => "calendar_work_on_weekday",
    CalendarYearEmpty => "calendar_year_empty",
    CannotDisableSelf => "cannot_disable_self",
    CardExpired => "card_expired",
    ConfirmationRequired => "confirmation_required",
    Conflict => "conflict",
    ConsentRequestExpired => "consent_request_expired",
    ConsentRequired => "consent_required",
    CoverageOutsideParent => "coverage_outside_parent",
    CoverageRegionLevel => "coverage_region_level",
    CreditCodeBadCheckCharacter => "credit_code_bad_check_character",
    CreditCodeInvalidCharacter => "credit_code_invalid_character",
    CreditCodeRequired => "credit_code_required",
    CreditCodeTaken => "credit_code_taken",
    CreditCodeWrongLength => "credit_code_wrong_length",
    DateRangeTooLong => "date_range_too_long",
    FederationRegionLevel => "federation_region_level",
    FieldNotApplicable => "field_not_applicable",
    Forbidden => "forbidden",
    ForwardToSameUnion => "forward_to_same_union",
    HeadersTooLarge => "headers_too_large",
    IdempotencyKeyRequired => "idempotency_key_required",
    IdempotencyKeyReused => "idempotency_key_reused",
    ImportBadEncoding => "import_bad_encoding",
    ImportBadHeader => "import_bad_header",
    ImportBadSpreadsheet => "import_bad_spreadsheet",
    ImportEmptyFile => "import_empty_file",
    ImportHasProblems => "import_has_problems",
    ImportNoRows => "import_no_rows",
    ImportNotCommittable => "import_not_committable",
    ImportSpreadsheetTooLarge => "import_spreadsheet_too_large",
    InsufficientScope => "insufficient_scope",
    InternalError => "internal_error",
    InvalidAdminId => "invalid_admin_id",
    InvalidAdminRole => "invalid_admin_role",
    InvalidAmenity => "invalid_amenity",
    InvalidApplicationEvent => "invalid_application_event",
    InvalidApplicationId => "invalid_application_id",
    InvalidApplicationStatus => "invalid_application_status",
    InvalidCalendarYear => "invalid_calendar_year",
    InvalidBenefitKind => "invalid_benefit_kind",
    InvalidCardPayload => "invalid_card_payload",
    InvalidCoverPeriod => "invalid_cover_period",
    InvalidCredentials => "invalid_credentials",
    InvalidCursor => "invalid_cursor",
    InvalidDate => "invalid_date",
    InvalidDateRange => "invalid_date_range",
    InvalidDayKind => "invalid_day_kind",
    InvalidDirection => "invalid_direction",
    InvalidDisplayName => "invalid_display_name",
    InvalidEducation => "invalid_education",
    InvalidEmploymentStatus => "invalid_employment_status",
    InvalidEthnicity => "invalid_ethnicity",
    InvalidEventType => "invalid_event_type",
    InvalidExportFormat => "invalid_export_format",
    InvalidField => "invalid_field",
    InvalidFilter => "invalid_filter",
    InvalidGender => "invalid_gender",
    InvalidHolidayName => "invalid_holiday_name",
    InvalidHouseholdType => "invalid_household_type",
    InvalidId => "invalid_id",
    InvalidIdempotencyKey => "invalid_idempotency_key",
    InvalidInterval => "invalid_interval",
    InvalidLatitude => "invalid_latitude",
    InvalidLimit => "invalid_limit",
    InvalidLoginChallenge => "invalid_login_challenge",
    InvalidLongitude => "invalid_longitude",
    InvalidMemberEvent => "invalid_member_event",
    InvalidMemberId => "invalid_member_id",
    InvalidMemberStatus => "invalid_member_status",
    InvalidName => "invalid_name",
    InvalidOccupationGroup => "invalid_occupation_group",
    InvalidPathParameter => "invalid_path_parameter",
    InvalidPhone => "invalid_phone",
    InvalidPoliticalStatus => "invalid_political_status",
    InvalidPurpose => "invalid_purpose",
    InvalidQuarter => "invalid_quarter",
    InvalidQueryParameter => "invalid_query_parameter",
    InvalidRecoveryCode => "invalid_recovery_code",
    InvalidRadius => "invalid_radius",
    InvalidReferralCode => "invalid_referral_code",
    InvalidRefreshToken => "invalid_refresh_token",
    InvalidRegionCode => "invalid_region_code",
    InvalidRegionLevel => "invalid_region_level",
    InvalidRejectCode => "invalid_reject_code",
    InvalidReportFormat => "invalid_report_format",
    InvalidRetainReason => "invalid_retain_reason",
    InvalidReviewTime => "invalid_review_time",
    InvalidRoutingRule => "invalid_routing_rule",
    InvalidScope => "invalid_scope",
    InvalidSmsCode => "invalid_sms_code",
    InvalidSmsPurpose => "invalid_sms_purpose",
    InvalidStationHours => "invalid_station_hours",
    InvalidStationKind => "invalid_station_kind",
    InvalidStationPhone => "invalid_station_phone",
    InvalidStock => "invalid_stock",
    InvalidTargetUnion => "invalid_target_union",
    InvalidText => "invalid_text",
    InvalidTotpCode => "invalid_totp_code",
    InvalidTransferEvent => "invalid_transfer_event",
    InvalidTransferId => "invalid_transfer_id",
    InvalidTransferStatus => "invalid_transfer_status",
    InvalidUnionId => "invalid_union_id",
    InvalidUnionKind => "invalid_union_kind",
    InvalidUnionName => "invalid_union_name",
    InvalidUnionPath => "invalid_union_path",
    InvalidWorkforceCsv => "invalid_workforce_csv",
    InvalidUsername => "invalid_username",
    InvalidValidity => "invalid_validity",
    InvalidWechatCode => "invalid_wechat_code",
    LastActiveManager => "last_active_manager",
    MalformedJson => "malformed_json",
    MemberNotActive => "member_not_active",
    MemberNotRetained => "member_not_retained",
    MemberNotTransferring => "member_not_transferring",
    MembershipEnded => "membership_ended",
    MembershipNumberBadCheckCharacter => "membership_number_bad_check_character",
    MembershipNumberInvalidCharacter => "membership_number_invalid_character",
    MembershipNumberNotCounty => "membership_number_not_county",
    MembershipNumberSequenceOutOfRange => "membership_number_sequence_out_of_range",
    MembershipNumberWrongLength => "membership_number_wrong_length",
    MembershipNumberYearOutOfRange => "membership_number_year_out_of_range",
    MethodNotAllowed => "method_not_allowed",
    MissingField => "missing_field",
    NoFieldsToFix => "no_fields_to_fix",
    NoUnion => "no_union",
    NotAMember => "not_a_member",
    NotAcceptable => "not_acceptable",
    NotCurrentUnion => "not_current_union",
    NotFound => "not_found",
    NotReady => "not_ready",
    NotSourceUnion => "not_source_union",
    NotTargetUnion => "not_target_union",
    NoticeVersionOutdated => "notice_version_outdated",
    OccupationsRequired => "occupations_required",
    ParentNotFederation => "parent_not_federation",
    PartnerClientDisabled => "partner_client_disabled",
    PartnerClientNotDisabled => "partner_client_not_disabled",
    PayloadTooLarge => "payload_too_large",
    PasswordChangeRequired => "password_change_required",
    PhoneInvalidCharacter => "phone_invalid_character",
    PhoneNotMainland => "phone_not_mainland",
    PhoneNotMobile => "phone_not_mobile",
    PhoneTaken => "phone_taken",
    PhoneUnreachable => "phone_unreachable",
    PhoneWrongLength => "phone_wrong_length",
    PoolExists => "pool_exists",
    PoolRegion => "pool_region",
    QuarterNotEnded => "quarter_not_ended",
    ReasonControlCharacter => "reason_control_character",
    ReasonRequired => "reason_required",
    ReasonTooLong => "reason_too_long",
    ReferralCodeUnknown => "referral_code_unknown",
    ReferrerNotMember => "referrer_not_member",
    RefreshTokenReused => "refresh_token_reused",
    RegionInvalidCharacter => "region_invalid_character",
    RegionUnknownProvince => "region_unknown_province",
    RegionWrongLength => "region_wrong_length",
    RejectNoteRequired => "reject_note_required",
    RequestTimeout => "request_timeout",
    RequiredPurposeMissing => "required_purpose_missing",
    Required => "required",
    ResidentIdBadCheckCharacter => "resident_id_bad_check_character",
    ResidentIdFutureBirthDate => "resident_id_future_birth_date",
    ResidentIdInvalidBirthDate => "resident_id_invalid_birth_date",
    ResidentIdInvalidCharacter => "resident_id_invalid_character",
    ResidentIdUnknownProvince => "resident_id_unknown_province",
    ResidentIdWrongLength => "resident_id_wrong_length",
    ReviewCutoffAfterClosing => "review_cutoff_after_closing",
    ReviewCutoffNotAfterOpening => "review_cutoff_not_after_opening",
    ReviewHoursEndBeforeStart => "review_hours_end_before_start",
    SecondFactorAlreadyEnrolled => "second_factor_already_enrolled",
    SecondFactorNotEnrolled => "second_factor_not_enrolled",
    SecondFactorRequired => "second_factor_required",
    SelfReferral => "self_referral",
    SensitiveDataConsentRequired => "sensitive_data_consent_required",
    ServiceUnavailable => "service_unavailable",
    SmsCodeExpired => "sms_code_expired",
    StaleVersion => "stale_version",
    SuccessorInsideClosedUnion => "successor_inside_closed_union",
    SuccessorRequired => "successor_required",
    StationClosed => "station_closed",
    StationHasBenefits => "station_has_benefits",
    StationHoursEndBeforeStart => "station_hours_end_before_start",
    TooManyRequests => "too_many_requests",
    TooManyReveals => "too_many_reveals",
    TotpCodeReused => "totp_code_reused",
    TransferAutoReleaseTooEarly => "transfer_auto_release_too_early",
    TransferInProgress => "transfer_in_progress",
    TransferNotOpen => "transfer_not_open",
    TransferNotReleased => "transfer_not_released",
    TransferNotRequested => "transfer_not_requested",
    TransferSameUnion => "transfer_same_union",
    TransferTargetAmbiguous => "transfer_target_ambiguous",
    TransferTargetRequired => "transfer_target_required",
    Unauthorized => "unauthorized",
    UnionClosed => "union_closed",
    UnionHasAdmins => "union_has_admins",
    UnionHasChildren => "union_has_children",
    UnionIsRoot => "union_is_root",
    UnionMoveCycle => "union_move_cycle",
    UnionMoveInProgress => "union_move_in_progress",
    UnknownField => "unknown_field",
    UnknownFormField => "unknown_form_field",
    UnknownRegion => "unknown_region",
    UnsupportedMediaType => "unsupported_media_type",
    UriTooLong => "uri_too_long",
    UsernameTaken => "username_taken",
    WeakPassword => "weak_password",
    WebhookDeliveryPending => "webhook_delivery_pending",
    WebhookEndpointDisabled => "webhook_endpoint_disabled",
    WebhookUrlRefused => "webhook_url_refused",
    WechatIdentityMismatch => "wechat_identity_mismatch",
    WechatUserBlocked => "wechat_user_blocked",
    WorkforceDuplicateGroup => "workforce_duplicate_group",
    WorkforceEstimateOutOfRange => "workforce_estimate_out_of_range",
    WorkforceTargetAboveEstimate => "workforce_target_above_estimate",
    WorkforceYearOutOfRange => "workforce_year_out_of_range",
    WorkRegionTooCoarse => "work_region_too_coarse",
    WrongCurrentPassword => "wrong_current_password",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the code as it travels (`error.code() == "stale_version"`).
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && !s.contains("__")
                    && !s.ends_with('_'),
                "{s} is not snake_case"
            );
            assert_eq!(ErrorCode::parse(s), Some(*code));
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }
}
