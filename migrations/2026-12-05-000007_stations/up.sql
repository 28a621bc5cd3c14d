-- Service stations near me, welcome benefits on approval, redemption by card (issue 17).
--
-- Distances: the contrib pair cube + earthdistance. `ll_to_earth(lat, lng)` is a point on a
-- sphere of radius earth() (6 378 168 m) as a 3-D cube; a GiST index on it serves
-- `earth_box(centre, r) @> ll_to_earth(lat, lng)` (a bounding cube, slightly larger than the
-- sphere cap), and `earth_distance` then keeps the exact great-circle distance ≤ r. The sphere
-- differs from the WGS-84 ellipsoid by < 0.5 % in distance. Coordinates are GCJ-02 as WeChat
-- returns them: the GCJ-02 offset is nearly constant over a city, so distances between GCJ-02
-- points are right to a few metres.
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;

-- 服务站点: 驿站, 司机之家, 户外劳动者港湾, 职工之家 …, owned by a union.
CREATE TABLE stations (
    id          bigserial        PRIMARY KEY,
    union_id    bigint           NOT NULL REFERENCES unions (id),
    name        text             NOT NULL,
    kind        text             NOT NULL CHECK (kind IN ('service_post', 'drivers_home', 'outdoor_workers_harbor', 'workers_home', 'other')),
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng         double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    address     text             NOT NULL,
    -- {"weekly": [{"weekday": 1, "open": 480, "close": 1200}, …], "closed_days": ["2026-10-01"]}
    -- (minutes after midnight, Beijing time); checked by the domain's OpeningHours.
    hours       jsonb            NOT NULL,
    amenities   text[]           NOT NULL DEFAULT '{}',
    phone       text,
    version     integer          NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at  timestamptz      NOT NULL DEFAULT now(),
    updated_at  timestamptz      NOT NULL DEFAULT now(),
    closed_at   timestamptz
);
-- "Near me": open stations only (a closed one is never shown), by position.
CREATE INDEX stations_location_idx ON stations USING gist (ll_to_earth(lat, lng)) WHERE closed_at IS NULL;
CREATE INDEX stations_union_idx ON stations (union_id);

-- Every earlier version of a station, written when an edit or a close replaces it.
CREATE TABLE station_versions (
    station_id  bigint      NOT NULL REFERENCES stations (id),
    version     integer     NOT NULL,
    snapshot    jsonb       NOT NULL,
    replaced_at timestamptz NOT NULL,
    replaced_by uuid        NOT NULL,
    PRIMARY KEY (station_id, version)
);

-- Station staff: an admin with role 'station' is bound to exactly one station (and to its union).
ALTER TABLE admins DROP CONSTRAINT admins_role_check;
ALTER TABLE admins
    ADD CONSTRAINT admins_role_check CHECK (role IN ('reviewer', 'manager', 'viewer', 'station')),
    ADD COLUMN station_id bigint REFERENCES stations (id),
    ADD CONSTRAINT admins_station_only_for_station_staff CHECK ((role = 'station') = (station_id IS NOT NULL));

-- 入会礼遇 configured by a union's managers. `stock` is what may still be granted; the grant at
-- approval decrements it in the same statement and never below zero.
CREATE TABLE benefits (
    id           bigserial   PRIMARY KEY,
    union_id     bigint      NOT NULL REFERENCES unions (id),
    kind         text        NOT NULL CHECK (kind IN ('accident_insurance', 'gift_package', 'health_check', 'other')),
    name         text        NOT NULL,
    insurer      text,
    cover_months integer     CHECK (cover_months BETWEEN 1 AND 60),
    station_id   bigint      REFERENCES stations (id),
    valid_days   integer     NOT NULL CHECK (valid_days BETWEEN 1 AND 3660),
    stock        integer     NOT NULL CHECK (stock >= 0),
    version      integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    closed_at    timestamptz,
    CHECK (kind <> 'accident_insurance' OR (insurer IS NOT NULL AND cover_months IS NOT NULL))
);
-- The grant reads the in-stock benefits of the member's union and its ancestors.
CREATE INDEX benefits_union_idx ON benefits (union_id) WHERE closed_at IS NULL AND stock > 0;

-- A member's benefit: granted once per member and benefit (a transferred member keeps theirs
-- and is never granted the same one twice), used once.
CREATE TABLE member_benefits (
    id              bigserial   PRIMARY KEY,
    member_id       uuid        NOT NULL REFERENCES members (id),
    benefit_id      bigint      NOT NULL REFERENCES benefits (id),
    application_id  uuid        REFERENCES applications (id),
    granted_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    used_station_id bigint      REFERENCES stations (id),
    used_by         uuid        REFERENCES admins (id),
    CONSTRAINT member_benefits_once UNIQUE (member_id, benefit_id),
    CHECK ((used_at IS NULL) = (used_station_id IS NULL))
);
CREATE INDEX member_benefits_station_idx ON member_benefits (used_station_id, used_at DESC, id DESC) WHERE used_at IS NOT NULL;

-- Stations and benefits are audited too.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_kind;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind
    CHECK (object_kind IN ('application', 'member', 'admin', 'transfer', 'union', 'calendar', 'station', 'benefit'));
