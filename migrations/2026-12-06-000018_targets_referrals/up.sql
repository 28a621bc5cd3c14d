-- Referral codes (推荐码) of members, and the index that sums workforce estimates over a subtree.
--
-- A member's code is 8 Crockford base32 characters (40 bits) and a Luhn mod 32 check character;
-- `zhijian_domain::referral::ReferralCode` parses it, and an integration test keeps
-- `referral_code_encode` below equal to the domain's encoding. The 40 bits are a keyed
-- permutation (a 4-round Feistel network) of a sequence number: unique by construction — a bulk
-- insert of millions of members never collides — and unguessable without the key, which is
-- drawn at random when this migration runs and never leaves the database.

-- The key: a function answering the random text drawn now.
DO $$
BEGIN
    EXECUTE format(
        'CREATE FUNCTION referral_key() RETURNS text LANGUAGE sql IMMUTABLE AS %L',
        format('SELECT %L::text', md5(random()::text || clock_timestamp()::text)));
END;
$$;

CREATE SEQUENCE member_referral_seq MINVALUE 0 START 0 MAXVALUE 1099511627775 NO CYCLE;

-- 40 bits → 8 Crockford base32 characters, most significant first, then the check character.
CREATE FUNCTION referral_code_encode(value bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    digits int[] := ARRAY[]::int[];
    code text := '';
    factor int := 2;
    total int := 0;
    addend int;
BEGIN
    FOR i IN REVERSE 7..0 LOOP
        digits := digits || ((value >> (5 * i)) & 31)::int;
    END LOOP;
    FOR i IN 1..8 LOOP
        code := code || substr(alphabet, digits[i] + 1, 1);
    END LOOP;
    -- Luhn mod 32 over the digits, rightmost first, doubling the rightmost.
    FOR i IN REVERSE 8..1 LOOP
        addend := factor * digits[i];
        factor := CASE WHEN factor = 2 THEN 1 ELSE 2 END;
        total := total + addend / 32 + addend % 32;
    END LOOP;
    RETURN code || substr(alphabet, ((32 - total % 32) % 32) + 1, 1);
END;
$$;

-- A keyed permutation of the 40-bit space: 4 Feistel rounds over two 20-bit halves.
CREATE FUNCTION referral_permute(n bigint, key text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    l bigint := (n >> 20) & 1048575;
    r bigint := n & 1048575;
    f bigint;
    t bigint;
BEGIN
    FOR round IN 1..4 LOOP
        f := ('x' || substr(md5(key || ':' || round || ':' || r), 1, 5))::bit(20)::bigint;
        t := r;
        r := l # f;
        l := t;
    END LOOP;
    RETURN (l << 20) | r;
END;
$$;

-- The next member's code: the next sequence number, permuted under the database's key.
CREATE FUNCTION referral_code_next() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT referral_code_encode(referral_permute(nextval('member_referral_seq'), referral_key()))
$$;

ALTER TABLE members ADD COLUMN referral_code text;
UPDATE members SET referral_code = referral_code_next();
ALTER TABLE members
    ALTER COLUMN referral_code SET DEFAULT referral_code_next(),
    ALTER COLUMN referral_code SET NOT NULL,
    ADD CONSTRAINT members_referral_code_key UNIQUE (referral_code);

-- A member's referrals, newest decision first (`GET /v1/membership/referrals`).
CREATE INDEX applications_referrer_decided ON applications (referrer_member_id, decided_at DESC, id)
    WHERE referrer_member_id IS NOT NULL AND status = 'approved';
