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

diesel::allow_tables_to_appear_in_same_query!(regions, calendar_days);
