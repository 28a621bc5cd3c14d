//! Diesel table definitions, mirroring `migrations/`.

diesel::table! {
    regions (code) {
        code -> Varchar,
        name -> Text,
        level -> Int2,
        parent_code -> Nullable<Varchar>,
    }
}

diesel::table! {
    calendar_days (day) {
        day -> Date,
        kind -> Text,
        holiday -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_years (year) {
        year -> Int2,
        version -> Int4,
        revision -> Int8,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Uuid>,
        source -> Text,
    }
}

diesel::table! {
    unions (id) {
        id -> Int8,
        name -> Text,
        kind -> Text,
        parent_id -> Nullable<Int8>,
        region_code -> Varchar,
        path -> Text,
        credit_code -> Nullable<Varchar>,
        occupations -> Array<Text>,
        accepting -> Bool,
        priority -> Int4,
        review_opens -> Time,
        review_closes -> Time,
        review_cutoff -> Time,
        created_at -> Timestamptz,
        anchor_id -> Int8,
        version -> Int4,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        successor_id -> Nullable<Int8>,
    }
}

diesel::table! {
    union_coverage (union_id, region_code) {
        union_id -> Int8,
        region_code -> Varchar,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        wechat_openid -> Nullable<Text>,
        wechat_unionid -> Nullable<Text>,
        phone_cipher -> Nullable<Text>,
        phone_index -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        imported -> Bool,
        cancelled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    admins (id) {
        id -> Uuid,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        union_id -> Int8,
        failed_logins -> Int4,
        locked_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        phone_cipher -> Nullable<Text>,
        version -> Int4,
        updated_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
        must_change_password -> Bool,
        password_changed_at -> Nullable<Timestamptz>,
        station_id -> Nullable<Int8>,
    }
}

diesel::table! {
    applications (id) {
        id -> Uuid,
        account_id -> Uuid,
        person_index -> Text,
        status -> Text,
        version -> Int4,
        union_id -> Int8,
        routing_rule -> Text,
        routing_explanation -> Text,
        due_at -> Nullable<Timestamptz>,
        submitted_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        returned_at -> Nullable<Timestamptz>,
        name -> Text,
        resident_id_cipher -> Text,
        phone_cipher -> Text,
        phone_index -> Text,
        gender -> Text,
        birth_date -> Date,
        ethnicity -> Text,
        education -> Text,
        political_status -> Text,
        household_type -> Text,
        household_region -> Nullable<Varchar>,
        employment_status -> Text,
        occupation -> Text,
        employer_name -> Text,
        employer_credit_code -> Nullable<Varchar>,
        platform -> Nullable<Text>,
        work_region -> Varchar,
        work_address -> Text,
        privacy_notice_version -> Text,
        consented_at -> Timestamptz,
        channel -> Text,
        referral_code -> Nullable<Text>,
        return_fields -> Array<Text>,
        return_note -> Nullable<Text>,
        reject_code -> Nullable<Text>,
        reject_note -> Nullable<Text>,
        member_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        anchor_id -> Int8,
        referrer_member_id -> Nullable<Uuid>,
        erased_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    application_events (id) {
        id -> Int8,
        application_id -> Uuid,
        event -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        union_id -> Int8,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        reason -> Nullable<Text>,
        at -> Timestamptz,
        occupation -> Nullable<Text>,
    }
}

diesel::table! {
    members (id) {
        id -> Uuid,
        person_index -> Text,
        account_id -> Nullable<Uuid>,
        membership_number -> Varchar,
        union_id -> Int8,
        name -> Text,
        joined_on -> Date,
        status -> Text,
        version -> Int4,
        application_id -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        anchor_id -> Int8,
        referral_code -> Text,
    }
}

diesel::table! {
    affiliations (id) {
        id -> Int8,
        member_id -> Uuid,
        union_id -> Int8,
        started_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        reason -> Text,
        membership_number -> Varchar,
        end_reason -> Nullable<Text>,
    }
}

diesel::table! {
    membership_counters (county_code, year) {
        county_code -> Varchar,
        year -> Int2,
        last_value -> Int4,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        role -> Nullable<Text>,
        union_id -> Nullable<Int8>,
        object_kind -> Text,
        object_id -> Text,
        action -> Text,
        reason -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_reach (audit_id, via, union_id) {
        audit_id -> Int8,
        via -> Text,
        union_id -> Int8,
        anchor_id -> Int8,
        object_kind -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        event_type -> Text,
        aggregate_id -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        claimed_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Text,
        response_status -> Int2,
        response_body -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    transfers (id) {
        id -> Uuid,
        member_id -> Uuid,
        from_union_id -> Int8,
        to_union_id -> Int8,
        status -> Text,
        version -> Int4,
        routing_rule -> Nullable<Text>,
        routing_explanation -> Nullable<Text>,
        work_region -> Nullable<Varchar>,
        occupation -> Nullable<Text>,
        employer_credit_code -> Nullable<Varchar>,
        reason -> Nullable<Text>,
        requested_at -> Timestamptz,
        released_at -> Nullable<Timestamptz>,
        released_by -> Nullable<Uuid>,
        auto_released -> Bool,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Uuid>,
        completed_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        rejected_by -> Nullable<Text>,
        reject_reason -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    member_events (id) {
        id -> Int8,
        member_id -> Uuid,
        event -> Text,
        from_status -> Text,
        to_status -> Text,
        union_id -> Int8,
        membership_number -> Varchar,
        transfer_id -> Nullable<Uuid>,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        reason_code -> Nullable<Text>,
        reason -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Int8,
        outbox_id -> Int8,
        attempt -> Int4,
        channel -> Text,
        recipient_kind -> Text,
        recipient_id -> Text,
        provider -> Text,
        out_id -> Text,
        status -> Text,
        retryable -> Bool,
        error_code -> Nullable<Text>,
        error_message -> Nullable<Text>,
        provider_ref -> Nullable<Text>,
        duration_ms -> Int4,
        at -> Timestamptz,
    }
}

diesel::table! {
    deadline_alerts (application_id, kind, due_at, union_id) {
        application_id -> Uuid,
        kind -> Text,
        due_at -> Timestamptz,
        union_id -> Int8,
        at -> Timestamptz,
    }
}

diesel::table! {
    admin_second_factors (admin_id) {
        admin_id -> Uuid,
        secret_cipher -> Text,
        confirmed_at -> Nullable<Timestamptz>,
        last_used_step -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    union_move_rows (move_id, seq) {
        move_id -> Int8,
        seq -> Int8,
        kind -> Text,
        row_id -> Nullable<Uuid>,
        audit_id -> Nullable<Int8>,
        via -> Nullable<Text>,
        union_id -> Nullable<Int8>,
    }
}

diesel::table! {
    admin_recovery_codes (id) {
        id -> Int8,
        admin_id -> Uuid,
        code_hash -> Text,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    union_moves (id) {
        id -> Int8,
        union_id -> Int8,
        from_parent_id -> Int8,
        to_parent_id -> Int8,
        from_anchor_id -> Int8,
        to_anchor_id -> Int8,
        reanchored -> Array<Int8>,
        status -> Text,
        batch_size -> Int4,
        collected -> Bool,
        batches -> Int4,
        rows_moved -> Int8,
        longest_batch_ms -> Int4,
        actor_id -> Nullable<Uuid>,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    stations (id) {
        id -> Int8,
        union_id -> Int8,
        name -> Text,
        kind -> Text,
        lat -> Float8,
        lng -> Float8,
        address -> Text,
        hours -> Jsonb,
        amenities -> Array<Text>,
        phone -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    station_versions (station_id, version) {
        station_id -> Int8,
        version -> Int4,
        snapshot -> Jsonb,
        replaced_at -> Timestamptz,
        replaced_by -> Uuid,
    }
}

diesel::table! {
    benefits (id) {
        id -> Int8,
        union_id -> Int8,
        kind -> Text,
        name -> Text,
        insurer -> Nullable<Text>,
        cover_months -> Nullable<Int4>,
        station_id -> Nullable<Int8>,
        valid_days -> Int4,
        stock -> Int4,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    member_benefits (id) {
        id -> Int8,
        member_id -> Uuid,
        benefit_id -> Int8,
        application_id -> Nullable<Uuid>,
        granted_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        used_station_id -> Nullable<Int8>,
        used_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    workforce_estimates (union_id, occupation, year) {
        union_id -> Int8,
        occupation -> Text,
        year -> Int4,
        estimate -> Int8,
        target -> Nullable<Int8>,
        source -> Text,
        version -> Int4,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    union_stats_daily (union_id, day, occupation, slot) {
        union_id -> Int8,
        day -> Date,
        occupation -> Text,
        slot -> Int2,
        submitted -> Int4,
        approved -> Int4,
        approved_on_time -> Int4,
        rejected -> Int4,
        rejected_on_time -> Int4,
        returned -> Int4,
        applications_withdrawn -> Int4,
        joined -> Int4,
        transferred_in -> Int4,
        transferred_out -> Int4,
        retained -> Int4,
        reactivated -> Int4,
        withdrawn -> Int4,
        expelled -> Int4,
        deceased -> Int4,
        referrals -> Int4,
    }
}

diesel::table! {
    union_stats_active (union_id, occupation, slot) {
        union_id -> Int8,
        occupation -> Text,
        slot -> Int2,
        active -> Int4,
    }
}

diesel::table! {
    union_stats_pending (union_id, due_at, slot) {
        union_id -> Int8,
        due_at -> Timestamptz,
        slot -> Int2,
        pending -> Int4,
    }
}

diesel::table! {
    quarterly_snapshots (year, quarter) {
        year -> Int4,
        quarter -> Int2,
        taken_at -> Timestamptz,
    }
}

diesel::table! {
    quarterly_snapshot_rows (year, quarter, union_id, occupation) {
        year -> Int4,
        quarter -> Int2,
        union_id -> Int8,
        parent_id -> Nullable<Int8>,
        union_name -> Text,
        occupation -> Text,
        joined -> Int8,
    }
}

diesel::table! {
    imports (id) {
        id -> Uuid,
        union_id -> Int8,
        kind -> Text,
        mode -> Text,
        status -> Text,
        content_sha256 -> Text,
        charset -> Text,
        source -> Text,
        actor_id -> Uuid,
        rows_total -> Int4,
        rows_valid -> Int4,
        rows_invalid -> Int4,
        rows_committed -> Int4,
        warnings -> Int4,
        failure -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        committed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    import_problems (id) {
        id -> Int8,
        import_id -> Uuid,
        line -> Int4,
        column_name -> Text,
        code -> Text,
        message -> Text,
        severity -> Text,
    }
}

diesel::table! {
    import_union_rows (import_id, line) {
        import_id -> Uuid,
        line -> Int4,
        cells -> Array<Text>,
    }
}

diesel::table! {
    import_member_rows (import_id, line) {
        import_id -> Uuid,
        line -> Int4,
        valid -> Bool,
        person_index -> Text,
        name -> Text,
        resident_id_cipher -> Text,
        phone_cipher -> Text,
        phone_index -> Text,
        gender -> Text,
        birth_date -> Date,
        union_id -> Int8,
        county -> Varchar,
        work_region -> Varchar,
        joined_on -> Date,
        given_number -> Nullable<Varchar>,
        unusable_number -> Nullable<Text>,
        occupation -> Text,
        employer_name -> Nullable<Text>,
        platform -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        client_id -> Uuid,
        url -> Text,
        event_types -> Array<Text>,
        secrets -> Jsonb,
        disabled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        client_id -> Uuid,
        msg_id -> Text,
        event_type -> Text,
        payload -> Jsonb,
        attempt -> Int4,
        status -> Text,
        response_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        duration_ms -> Nullable<Int4>,
        outbox_id -> Nullable<Int8>,
        last_attempt_at -> Nullable<Timestamptz>,
        next_attempt_at -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    partner_clients (id) {
        id -> Uuid,
        name -> Text,
        contact -> Text,
        scopes -> Array<Text>,
        secret_hash -> Text,
        previous_secret_hash -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
        version -> Int4,
    }
}

diesel::table! {
    partner_consent_requests (code) {
        code -> Text,
        client_id -> Uuid,
        partner_user_id -> Text,
        purposes -> Array<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    partner_consents (id) {
        id -> Uuid,
        account_id -> Uuid,
        client_id -> Uuid,
        purposes -> Array<Text>,
        notice_version -> Text,
        partner_user_id -> Nullable<Text>,
        request_code -> Nullable<Text>,
        granted_at -> Timestamptz,
        withdrawn_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    partner_applications (application_id) {
        application_id -> Uuid,
        client_id -> Uuid,
        consent_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(unions -> regions (region_code));
diesel::joinable!(admins -> unions (union_id));
diesel::joinable!(applications -> unions (union_id));
diesel::joinable!(applications -> accounts (account_id));
diesel::joinable!(application_events -> applications (application_id));
diesel::joinable!(members -> unions (union_id));
diesel::joinable!(affiliations -> members (member_id));
diesel::joinable!(affiliations -> unions (union_id));
diesel::joinable!(transfers -> members (member_id));
diesel::joinable!(member_events -> members (member_id));
diesel::joinable!(member_events -> unions (union_id));
diesel::joinable!(deliveries -> outbox (outbox_id));
diesel::joinable!(union_coverage -> unions (union_id));
diesel::joinable!(admin_second_factors -> admins (admin_id));
diesel::joinable!(admin_recovery_codes -> admins (admin_id));
diesel::joinable!(union_move_rows -> union_moves (move_id));
diesel::joinable!(stations -> unions (union_id));
diesel::joinable!(benefits -> unions (union_id));
diesel::joinable!(member_benefits -> benefits (benefit_id));
diesel::joinable!(member_benefits -> members (member_id));
diesel::joinable!(workforce_estimates -> unions (union_id));
diesel::joinable!(union_stats_daily -> unions (union_id));
diesel::joinable!(union_stats_active -> unions (union_id));
diesel::joinable!(union_stats_pending -> unions (union_id));
diesel::joinable!(quarterly_snapshot_rows -> unions (union_id));
diesel::joinable!(imports -> unions (union_id));
diesel::joinable!(import_problems -> imports (import_id));
diesel::joinable!(import_member_rows -> imports (import_id));
diesel::joinable!(import_union_rows -> imports (import_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(partner_consent_requests -> partner_clients (client_id));
diesel::joinable!(partner_consents -> partner_clients (client_id));
diesel::joinable!(partner_consents -> accounts (account_id));
diesel::joinable!(partner_applications -> partner_clients (client_id));
diesel::joinable!(partner_applications -> partner_consents (consent_id));
diesel::joinable!(partner_applications -> applications (application_id));

diesel::table! {
    pii_keys (kind, key_id) {
        kind -> Text,
        key_id -> Text,
        registered_at -> Timestamptz,
    }
}

diesel::table! {
    privacy_consents (account_id) {
        account_id -> Uuid,
        notice_version -> Text,
        purposes -> Array<Text>,
        consented_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(privacy_consents -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    pii_keys,
    privacy_consents,
    regions,
    calendar_days,
    unions,
    accounts,
    admins,
    applications,
    application_events,
    members,
    affiliations,
    membership_counters,
    audit_log,
    audit_reach,
    outbox,
    idempotency_keys,
    transfers,
    member_events,
    deliveries,
    deadline_alerts,
    union_coverage,
    admin_second_factors,
    admin_recovery_codes,
    union_moves,
    union_move_rows,
    stations,
    station_versions,
    benefits,
    member_benefits,
    workforce_estimates,
    union_stats_daily,
    union_stats_active,
    union_stats_pending,
    quarterly_snapshots,
    quarterly_snapshot_rows,
    imports,
    import_problems,
    import_member_rows,
    import_union_rows,
    partner_clients,
    partner_consent_requests,
    partner_consents,
    partner_applications,
    webhook_endpoints,
    webhook_deliveries,
);
