//! The HTTP status of every error code, decided here and nowhere else.
//!
//! The match is exhaustive on purpose: a new code does not compile until it has a status.

use actix_web::http::StatusCode;
use zhijian_domain::error_code::ErrorCode;

/// The status an error with `code` answers.
pub fn of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::NotFound | ErrorCode::NotAMember | ErrorCode::BenefitNotHeld => {
            StatusCode::NOT_FOUND
        }
        ErrorCode::Unauthorized
        | ErrorCode::InvalidCredentials
        | ErrorCode::InvalidRefreshToken
        | ErrorCode::InvalidLoginChallenge
        | ErrorCode::RefreshTokenReused => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden
        | ErrorCode::WechatUserBlocked
        | ErrorCode::WechatIdentityMismatch
        | ErrorCode::NotSourceUnion
        | ErrorCode::NotTargetUnion
        | ErrorCode::NotCurrentUnion
        | ErrorCode::PasswordChangeRequired
        | ErrorCode::SecondFactorRequired
        | ErrorCode::ConsentRequired => StatusCode::FORBIDDEN,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::InvalidInterval | ErrorCode::InvalidQuarter | ErrorCode::InvalidReportFormat => {
            StatusCode::BAD_REQUEST
        }
        ErrorCode::QuarterNotEnded | ErrorCode::NoticeVersionOutdated => StatusCode::CONFLICT,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::PayloadTooLarge | ErrorCode::ImportSpreadsheetTooLarge => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        ErrorCode::UriTooLong => StatusCode::URI_TOO_LONG,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ErrorCode::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::TooManyRequests | ErrorCode::AccountLocked | ErrorCode::TooManyReveals => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::ServiceUnavailable | ErrorCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Conflict
        | ErrorCode::PartnerClientDisabled
        | ErrorCode::PartnerClientNotDisabled
        | ErrorCode::ConsentRequestExpired
        | ErrorCode::WebhookDeliveryPending
        | ErrorCode::WebhookEndpointDisabled
        | ErrorCode::StaleVersion
        | ErrorCode::AlreadyMember
        | ErrorCode::ApplicationExists
        | ErrorCode::AlreadyApproved
        | ErrorCode::ApplicationNotOpen
        | ErrorCode::ApplicationNotPending
        | ErrorCode::ApplicationNotPooled
        | ErrorCode::ApplicationNotReturned
        | ErrorCode::ApplicationNotYetExpired
        | ErrorCode::ApplicationMissingReturnedAt
        | ErrorCode::MemberNotActive
        | ErrorCode::MemberNotRetained
        | ErrorCode::MemberNotTransferring
        | ErrorCode::MembershipEnded
        | ErrorCode::PhoneTaken
        | ErrorCode::SecondFactorAlreadyEnrolled
        | ErrorCode::SecondFactorNotEnrolled
        | ErrorCode::TransferInProgress
        | ErrorCode::TransferNotOpen
        | ErrorCode::TransferNotReleased
        | ErrorCode::TransferNotRequested
        | ErrorCode::TransferAutoReleaseTooEarly
        | ErrorCode::NoUnion
        | ErrorCode::CreditCodeTaken
        | ErrorCode::PoolExists
        | ErrorCode::UnionClosed
        | ErrorCode::AdminAlreadyDisabled
        | ErrorCode::AdminNotDisabled
        | ErrorCode::CannotDisableSelf
        | ErrorCode::LastActiveManager
        | ErrorCode::UsernameTaken
        | ErrorCode::SuccessorRequired
        | ErrorCode::UnionHasAdmins
        | ErrorCode::UnionHasChildren
        | ErrorCode::UnionMoveInProgress
        | ErrorCode::BenefitAlreadyUsed
        | ErrorCode::BenefitExpired
        | ErrorCode::BenefitOtherStation
        | ErrorCode::StationClosed
        | ErrorCode::StationHasBenefits
        | ErrorCode::ImportHasProblems
        | ErrorCode::ImportNotCommittable => StatusCode::CONFLICT,
        ErrorCode::ApplicantTooYoung
        | ErrorCode::ImportBadEncoding
        | ErrorCode::ImportBadHeader
        | ErrorCode::ImportBadSpreadsheet
        | ErrorCode::ImportEmptyFile
        | ErrorCode::ImportNoRows
        | ErrorCode::AssignToSameUnion
        | ErrorCode::BadRequest
        | ErrorCode::BenefitInsurerRequired
        | ErrorCode::CardExpired
        | ErrorCode::InvalidAmenity
        | ErrorCode::InvalidBenefitKind
        | ErrorCode::InvalidCoverPeriod
        | ErrorCode::InvalidLatitude
        | ErrorCode::InvalidLongitude
        | ErrorCode::InvalidRadius
        | ErrorCode::InvalidStationHours
        | ErrorCode::InvalidStationKind
        | ErrorCode::InvalidStationPhone
        | ErrorCode::InvalidStock
        | ErrorCode::InvalidValidity
        | ErrorCode::StationHoursEndBeforeStart
        | ErrorCode::BlankFieldToFix
        | ErrorCode::CalendarCsvHeader
        | ErrorCode::CalendarCsvNotUtf8
        | ErrorCode::CalendarCsvRow
        | ErrorCode::CalendarDayDuplicate
        | ErrorCode::CalendarDayOutsideYear
        | ErrorCode::CalendarWeekendRestUnnamed
        | ErrorCode::CalendarWorkOnWeekday
        | ErrorCode::CalendarYearEmpty
        | ErrorCode::ConfirmationRequired
        | ErrorCode::RequiredPurposeMissing
        | ErrorCode::CreditCodeBadCheckCharacter
        | ErrorCode::CreditCodeInvalidCharacter
        | ErrorCode::CreditCodeWrongLength
        | ErrorCode::DateRangeTooLong
        | ErrorCode::ForwardToSameUnion
        | ErrorCode::InvalidAdminRole
        | ErrorCode::InvalidApplicationEvent
        | ErrorCode::InvalidApplicationId
        | ErrorCode::InvalidApplicationStatus
        | ErrorCode::InvalidCalendarYear
        | ErrorCode::InvalidCardPayload
        | ErrorCode::InvalidCursor
        | ErrorCode::InvalidDate
        | ErrorCode::InvalidDateRange
        | ErrorCode::InvalidDayKind
        | ErrorCode::InvalidDirection
        | ErrorCode::InvalidEducation
        | ErrorCode::InvalidEmploymentStatus
        | ErrorCode::InvalidEthnicity
        | ErrorCode::InvalidExportFormat
        | ErrorCode::InvalidField
        | ErrorCode::InvalidFilter
        | ErrorCode::InvalidGender
        | ErrorCode::InvalidHolidayName
        | ErrorCode::InvalidHouseholdType
        | ErrorCode::InvalidId
        | ErrorCode::InvalidIdempotencyKey
        | ErrorCode::InvalidLimit
        | ErrorCode::InvalidMemberEvent
        | ErrorCode::InvalidMemberId
        | ErrorCode::InvalidMemberStatus
        | ErrorCode::InvalidName
        | ErrorCode::InvalidOccupationGroup
        | ErrorCode::InvalidPathParameter
        | ErrorCode::InvalidPhone
        | ErrorCode::InvalidPoliticalStatus
        | ErrorCode::InvalidQueryParameter
        | ErrorCode::InvalidRecoveryCode
        | ErrorCode::InvalidReferralCode
        | ErrorCode::InvalidRegionCode
        | ErrorCode::InvalidRegionLevel
        | ErrorCode::InvalidRejectCode
        | ErrorCode::InvalidRetainReason
        | ErrorCode::InvalidRoutingRule
        | ErrorCode::InvalidSmsCode
        | ErrorCode::InvalidSmsPurpose
        | ErrorCode::InvalidTargetUnion
        | ErrorCode::InvalidText
        | ErrorCode::InvalidTotpCode
        | ErrorCode::InvalidTransferEvent
        | ErrorCode::InvalidTransferId
        | ErrorCode::InvalidTransferStatus
        | ErrorCode::InvalidUnionId
        | ErrorCode::InvalidUnionKind
        | ErrorCode::InvalidUnionPath
        | ErrorCode::InvalidWechatCode
        | ErrorCode::InvalidWorkforceCsv
        | ErrorCode::MalformedJson
        | ErrorCode::MembershipNumberBadCheckCharacter
        | ErrorCode::MembershipNumberInvalidCharacter
        | ErrorCode::MembershipNumberNotCounty
        | ErrorCode::MembershipNumberSequenceOutOfRange
        | ErrorCode::MembershipNumberWrongLength
        | ErrorCode::MembershipNumberYearOutOfRange
        | ErrorCode::MissingField
        | ErrorCode::NoFieldsToFix
        | ErrorCode::PhoneInvalidCharacter
        | ErrorCode::PhoneNotMainland
        | ErrorCode::PhoneNotMobile
        | ErrorCode::PhoneUnreachable
        | ErrorCode::PhoneWrongLength
        | ErrorCode::ReasonControlCharacter
        | ErrorCode::ReasonRequired
        | ErrorCode::ReasonTooLong
        | ErrorCode::ReferralCodeUnknown
        | ErrorCode::ReferrerNotMember
        | ErrorCode::RegionInvalidCharacter
        | ErrorCode::RegionUnknownProvince
        | ErrorCode::RegionWrongLength
        | ErrorCode::RejectNoteRequired
        | ErrorCode::Required
        | ErrorCode::ResidentIdBadCheckCharacter
        | ErrorCode::ResidentIdFutureBirthDate
        | ErrorCode::ResidentIdInvalidBirthDate
        | ErrorCode::ResidentIdInvalidCharacter
        | ErrorCode::ResidentIdUnknownProvince
        | ErrorCode::ResidentIdWrongLength
        | ErrorCode::ReviewCutoffAfterClosing
        | ErrorCode::ReviewCutoffNotAfterOpening
        | ErrorCode::SelfReferral
        | ErrorCode::SensitiveDataConsentRequired
        | ErrorCode::SmsCodeExpired
        | ErrorCode::TotpCodeReused
        | ErrorCode::TransferSameUnion
        | ErrorCode::TransferTargetAmbiguous
        | ErrorCode::TransferTargetRequired
        | ErrorCode::UnknownField
        | ErrorCode::UnknownFormField
        | ErrorCode::UnknownRegion
        | ErrorCode::WorkRegionTooCoarse
        | ErrorCode::WorkforceDuplicateGroup
        | ErrorCode::WorkforceEstimateOutOfRange
        | ErrorCode::WorkforceTargetAboveEstimate
        | ErrorCode::WorkforceYearOutOfRange
        | ErrorCode::CoverageOutsideParent
        | ErrorCode::CoverageRegionLevel
        | ErrorCode::CreditCodeRequired
        | ErrorCode::FederationRegionLevel
        | ErrorCode::FieldNotApplicable
        | ErrorCode::InvalidReviewTime
        | ErrorCode::InvalidUnionName
        | ErrorCode::OccupationsRequired
        | ErrorCode::ParentNotFederation
        | ErrorCode::PoolRegion
        | ErrorCode::ReviewHoursEndBeforeStart
        | ErrorCode::InvalidAdminId
        | ErrorCode::InvalidDisplayName
        | ErrorCode::InvalidUsername
        | ErrorCode::WeakPassword
        | ErrorCode::WrongCurrentPassword
        | ErrorCode::SuccessorInsideClosedUnion
        | ErrorCode::UnionIsRoot
        | ErrorCode::UnionMoveCycle
        | ErrorCode::InvalidScope
        | ErrorCode::InvalidPurpose
        | ErrorCode::IdempotencyKeyRequired
        | ErrorCode::WebhookUrlRefused
        | ErrorCode::InvalidEventType => StatusCode::BAD_REQUEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_a_client_or_server_error() {
        for code in ErrorCode::ALL {
            let status = of(*code);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code}: {status}"
            );
        }
        assert_eq!(of(ErrorCode::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(of(ErrorCode::StaleVersion), StatusCode::CONFLICT);
        assert_eq!(of(ErrorCode::InvalidPhone), StatusCode::BAD_REQUEST);
    }
}
