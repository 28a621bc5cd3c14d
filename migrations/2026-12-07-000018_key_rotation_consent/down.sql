DROP TABLE pii_keys;
DROP TABLE privacy_consents;
