-- Columns and tables that coverage (issue 16) builds on, shared by its parts: the member who
-- brought an applicant in, and the workforce estimates and targets (底数 and 目标) coverage is
-- measured against.

-- The member whose referral code an application carried, resolved at submission; NULL when the
-- application named none. The referral counts for this member and their union on approval.
ALTER TABLE applications
    ADD COLUMN referrer_member_id uuid REFERENCES members (id);
CREATE INDEX applications_referrer ON applications (referrer_member_id)
    WHERE referrer_member_id IS NOT NULL;

-- 底数 and 目标 per union × occupation group × year, set by managers (API or CSV), with the source
-- they came from. Coverage = active members ÷ estimate; over a subtree, the sums of both.
CREATE TABLE workforce_estimates (
    union_id    bigint      NOT NULL REFERENCES unions (id),
    occupation  text        NOT NULL,
    year        integer     NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    estimate    bigint      NOT NULL CHECK (estimate >= 0),
    target      bigint      CHECK (target >= 0),
    source      text        NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        REFERENCES admins (id),
    PRIMARY KEY (union_id, occupation, year),
    CONSTRAINT workforce_target_within_estimate CHECK (target IS NULL OR target <= estimate)
);
CREATE INDEX workforce_estimates_year ON workforce_estimates (year, occupation);
