-- Reference data every other table builds on: China's statistical divisions and the
-- working-day calendar.

-- Statistical division codes (统计用区划代码), five levels. `code` is the natural key
-- (2, 4, 6, 9 or 12 digits); `parent_code` links each level to the one above.
CREATE TABLE regions (
    code        varchar(12) PRIMARY KEY CHECK (code ~ '^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$'),
    name        text        NOT NULL CHECK (name <> ''),
    level       smallint    NOT NULL CHECK (level BETWEEN 1 AND 5),
    parent_code varchar(12) REFERENCES regions (code),
    CHECK ((level = 1) = (parent_code IS NULL))
);

-- Region pickers list the children of one region ordered by code.
CREATE INDEX regions_parent_code_idx ON regions (parent_code, code);

-- Days that differ from the ordinary week (Mon–Fri work, Sat–Sun rest): public holidays and
-- the adjusted working weekends (调休). Editable by admins.
CREATE TABLE calendar_days (
    day        date        PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('work', 'rest')),
    holiday    text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO calendar_days (day, kind, holiday) VALUES
    ('2026-01-01', 'rest', '元旦'),
    ('2026-01-02', 'rest', '元旦'),
    ('2026-01-03', 'rest', '元旦'),
    ('2026-01-04', 'work', '元旦'),
    ('2026-02-14', 'work', '春节'),
    ('2026-02-15', 'rest', '春节'),
    ('2026-02-16', 'rest', '春节'),
    ('2026-02-17', 'rest', '春节'),
    ('2026-02-18', 'rest', '春节'),
    ('2026-02-19', 'rest', '春节'),
    ('2026-02-20', 'rest', '春节'),
    ('2026-02-21', 'rest', '春节'),
    ('2026-02-22', 'rest', '春节'),
    ('2026-02-23', 'rest', '春节'),
    ('2026-02-28', 'work', '春节'),
    ('2026-04-04', 'rest', '清明节'),
    ('2026-04-05', 'rest', '清明节'),
    ('2026-04-06', 'rest', '清明节'),
    ('2026-05-01', 'rest', '劳动节'),
    ('2026-05-02', 'rest', '劳动节'),
    ('2026-05-03', 'rest', '劳动节'),
    ('2026-05-04', 'rest', '劳动节'),
    ('2026-05-05', 'rest', '劳动节'),
    ('2026-05-09', 'work', '劳动节'),
    ('2026-06-19', 'rest', '端午节'),
    ('2026-06-20', 'rest', '端午节'),
    ('2026-06-21', 'rest', '端午节'),
    ('2026-09-20', 'work', '国庆节'),
    ('2026-09-25', 'rest', '中秋节'),
    ('2026-09-26', 'rest', '中秋节'),
    ('2026-09-27', 'rest', '中秋节'),
    ('2026-10-01', 'rest', '国庆节'),
    ('2026-10-02', 'rest', '国庆节'),
    ('2026-10-03', 'rest', '国庆节'),
    ('2026-10-04', 'rest', '国庆节'),
    ('2026-10-05', 'rest', '国庆节'),
    ('2026-10-06', 'rest', '国庆节'),
    ('2026-10-07', 'rest', '国庆节'),
    ('2026-10-10', 'work', '国庆节');
