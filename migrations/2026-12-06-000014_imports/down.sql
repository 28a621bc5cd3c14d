DELETE FROM accounts WHERE imported AND wechat_openid IS NULL AND phone_index IS NULL
    AND NOT EXISTS (SELECT 1 FROM members m WHERE m.account_id = accounts.id)
    AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.account_id = accounts.id);
ALTER TABLE accounts DROP CONSTRAINT accounts_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_check CHECK (wechat_openid IS NOT NULL OR phone_index IS NOT NULL);
ALTER TABLE accounts DROP COLUMN imported;
DROP TABLE import_union_rows;
DROP TABLE import_member_rows;
DROP TABLE import_problems;
DROP TABLE imports;
