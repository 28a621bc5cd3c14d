DELETE FROM audit_reach r USING audit_log l
    WHERE r.audit_id = l.id AND l.object_kind IN ('station', 'benefit');
DELETE FROM audit_log WHERE object_kind IN ('station', 'benefit');
ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_kind;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind
    CHECK (object_kind IN ('application', 'member', 'admin', 'transfer', 'union', 'calendar'));
DROP TABLE member_benefits;
DROP TABLE benefits;
DELETE FROM admins WHERE role = 'station';
ALTER TABLE admins DROP CONSTRAINT admins_station_only_for_station_staff;
ALTER TABLE admins DROP COLUMN station_id;
ALTER TABLE admins DROP CONSTRAINT admins_role_check;
ALTER TABLE admins ADD CONSTRAINT admins_role_check CHECK (role IN ('reviewer', 'manager', 'viewer'));
DROP TABLE station_versions;
DROP TABLE stations;
DROP EXTENSION IF EXISTS earthdistance;
DROP EXTENSION IF EXISTS cube;
