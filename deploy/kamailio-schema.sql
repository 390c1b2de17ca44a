-- controlhub call engine database (Kamailio 5.6, PostgreSQL): idempotent, applied by `deploy/kamailio.sh initdb`
-- (and `start`) on every run, so it is safe on an existing database.
--
-- Kamailio's own tables follow the Debian package schemas (/usr/share/kamailio/postgres/*-create.sql, same table
-- versions) with two project changes: wider domain/regex columns (an organisation's SIP domain may be 200
-- characters, libphonenumber patterns longer than 64) and an `org_key` column (the organisation's id in controlhub)
-- on every row the adapter writes, so one organisation's state is diffed and replaced without touching another's.
-- The `ch_*` tables are read by deploy/kamailio.cfg through sqlops; calling/engine/kamailio.py writes all of them.

-- ---------------------------------------------------------------------------------------------- Kamailio core

CREATE TABLE IF NOT EXISTS version (
    id SERIAL PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT version_table_name_idx UNIQUE (table_name)
);

-- auth_db: one row per device appearance of a line. username = the appearance's auth ID, domain = the
-- organisation's SIP domain (the digest realm), ha1/ha1b = md5 digests (no plaintext password is stored);
-- line_user = the line (AOR user part) this auth ID may register and call as (auth_db load_credentials).
CREATE TABLE IF NOT EXISTS subscriber (
    id SERIAL PRIMARY KEY NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(200) DEFAULT '' NOT NULL,
    password VARCHAR(64) DEFAULT '' NOT NULL,
    ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    ha1b VARCHAR(128) DEFAULT '' NOT NULL,
    line_user VARCHAR(64) DEFAULT '' NOT NULL,
    org_key VARCHAR(64) DEFAULT '' NOT NULL,
    CONSTRAINT subscriber_account_idx UNIQUE (username, domain)
);
CREATE INDEX IF NOT EXISTS subscriber_username_idx ON subscriber (username);
CREATE INDEX IF NOT EXISTS subscriber_org_idx ON subscriber (org_key);

-- usrloc (db_mode 1, write-through): registered contacts; written by Kamailio only.
CREATE TABLE IF NOT EXISTS location (
    id SERIAL PRIMARY KEY NOT NULL,
    ruid VARCHAR(64) DEFAULT '' NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(200) DEFAULT NULL,
    contact VARCHAR(512) DEFAULT '' NOT NULL,
    received VARCHAR(128) DEFAULT NULL,
    path VARCHAR(512) DEFAULT NULL,
    expires TIMESTAMP WITHOUT TIME ZONE DEFAULT '2030-05-28 21:32:15' NOT NULL,
    q REAL DEFAULT 1.0 NOT NULL,
    callid VARCHAR(255) DEFAULT 'Default-Call-ID' NOT NULL,
    cseq INTEGER DEFAULT 1 NOT NULL,
    last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    cflags INTEGER DEFAULT 0 NOT NULL,
    user_agent VARCHAR(255) DEFAULT '' NOT NULL,
    socket VARCHAR(64) DEFAULT NULL,
    methods INTEGER DEFAULT NULL,
    instance VARCHAR(255) DEFAULT NULL,
    reg_id INTEGER DEFAULT 0 NOT NULL,
    server_id INTEGER DEFAULT 0 NOT NULL,
    connection_id INTEGER DEFAULT 0 NOT NULL,
    keepalive INTEGER DEFAULT 0 NOT NULL,
    partition INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT location_ruid_idx UNIQUE (ruid)
);
CREATE INDEX IF NOT EXISTS location_account_contact_idx ON location (username, domain, contact);
CREATE INDEX IF NOT EXISTS location_expires_idx ON location (expires);
CREATE INDEX IF NOT EXISTS location_tcpcon_idx ON location (connection_id);
CREATE INDEX IF NOT EXISTS location_connection_idx ON location (server_id, connection_id);

CREATE TABLE IF NOT EXISTS location_attrs (
    id SERIAL PRIMARY KEY NOT NULL,
    ruid VARCHAR(64) DEFAULT '' NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(200) DEFAULT NULL,
    aname VARCHAR(64) DEFAULT '' NOT NULL,
    atype INTEGER DEFAULT 0 NOT NULL,
    avalue VARCHAR(512) DEFAULT '' NOT NULL,
    last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL
);
CREATE INDEX IF NOT EXISTS location_attrs_account_record_idx ON location_attrs (username, domain, ruid);
CREATE INDEX IF NOT EXISTS location_attrs_last_modified_idx ON location_attrs (last_modified);

-- dialplan: per location (dpid = ch_location.id) normalisation of dialled digits to +E.164. Reload: dialplan.reload.
CREATE TABLE IF NOT EXISTS dialplan (
    id SERIAL PRIMARY KEY NOT NULL,
    dpid INTEGER NOT NULL,
    pr INTEGER NOT NULL,
    match_op INTEGER NOT NULL,
    match_exp VARCHAR(512) NOT NULL,
    match_len INTEGER NOT NULL,
    subst_exp VARCHAR(512) NOT NULL,
    repl_exp VARCHAR(256) NOT NULL,
    attrs VARCHAR(64) NOT NULL,
    org_key VARCHAR(64) DEFAULT '' NOT NULL
);
CREATE INDEX IF NOT EXISTS dialplan_org_idx ON dialplan (org_key);

-- dispatcher: a location's gateways (setid = ch_location.id). Reload: dispatcher.reload.
CREATE TABLE IF NOT EXISTS dispatcher (
    id SERIAL PRIMARY KEY NOT NULL,
    setid INTEGER DEFAULT 0 NOT NULL,
    destination VARCHAR(192) DEFAULT '' NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    priority INTEGER DEFAULT 0 NOT NULL,
    attrs VARCHAR(128) DEFAULT '' NOT NULL,
    description VARCHAR(64) DEFAULT '' NOT NULL,
    org_key VARCHAR(64) DEFAULT '' NOT NULL
);
CREATE INDEX IF NOT EXISTS dispatcher_org_idx ON dispatcher (org_key);

INSERT INTO version (table_name, table_version) VALUES
    ('version', 1), ('subscriber', 7), ('location', 9), ('location_attrs', 1), ('dialplan', 2), ('dispatcher', 4)
ON CONFLICT (table_name) DO NOTHING;

-- ---------------------------------------------------------------------------------------------- controlhub

-- A location: its integer id is the dialplan id and dispatcher set id of the location.
CREATE TABLE IF NOT EXISTS ch_location (
    id SERIAL PRIMARY KEY NOT NULL,
    location_key VARCHAR(64) NOT NULL,
    org_key VARCHAR(64) NOT NULL,
    domain VARCHAR(200) NOT NULL,
    country VARCHAR(2) NOT NULL,
    routing_prefix VARCHAR(7) DEFAULT '' NOT NULL,
    outside_dial_digit VARCHAR(1) DEFAULT '' NOT NULL,
    CONSTRAINT ch_location_key_idx UNIQUE (location_key)
);
CREATE INDEX IF NOT EXISTS ch_location_org_idx ON ch_location (org_key);

-- A line (AOR line_user@domain) and the location whose dial plan and gateway its calls use. Per-user routing
-- data (DND, forwarding, ...) joins this table.
CREATE TABLE IF NOT EXISTS ch_line (
    id SERIAL PRIMARY KEY NOT NULL,
    line_user VARCHAR(64) NOT NULL,
    domain VARCHAR(200) NOT NULL,
    org_key VARCHAR(64) NOT NULL,
    location_key VARCHAR(64) NOT NULL,
    CONSTRAINT ch_line_user_idx UNIQUE (line_user)
);
CREATE INDEX IF NOT EXISTS ch_line_domain_idx ON ch_line (domain, line_user);
CREATE INDEX IF NOT EXISTS ch_line_org_idx ON ch_line (org_key);

-- What a caller in organisation `domain` may dial to reach a line: extension, ESN (routing prefix + extension)
-- or +E.164 number (kind = extension | esn | number). Only `number` rows are reachable from a gateway.
CREATE TABLE IF NOT EXISTS ch_route (
    id SERIAL PRIMARY KEY NOT NULL,
    domain VARCHAR(200) NOT NULL,
    dial_key VARCHAR(32) NOT NULL,
    line_user VARCHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    org_key VARCHAR(64) NOT NULL,
    CONSTRAINT ch_route_key_idx UNIQUE (domain, dial_key)
);
CREATE INDEX IF NOT EXISTS ch_route_org_idx ON ch_route (org_key);

-- Reload bookkeeping (one row): pushes that change dialplan/dispatcher rows bump `requested` in their
-- transaction; a reload records the `requested` value it served in `loaded`. `last_reload_at` spaces reloads.
CREATE TABLE IF NOT EXISTS ch_reload (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    requested BIGINT DEFAULT 0 NOT NULL,
    loaded BIGINT DEFAULT 0 NOT NULL,
    last_reload_at TIMESTAMP WITH TIME ZONE DEFAULT NULL
);
INSERT INTO ch_reload (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
-- how many reloads ran (operations and benchmarks/fanout.py read it)
ALTER TABLE ch_reload ADD COLUMN IF NOT EXISTS reloads BIGINT DEFAULT 0 NOT NULL;

-- Dial plan (issue 3): long classification regexes (libphonenumber's patterns) outgrow VARCHAR(512). Not TEXT:
-- Kamailio's db_postgres reads TEXT as bytea and unescapes it, which eats the regexes' backslashes.
ALTER TABLE dialplan ALTER COLUMN match_exp TYPE VARCHAR(4096), ALTER COLUMN subst_exp TYPE VARCHAR(4096);

-- Per-call data loaded with the digest credentials (auth_db load_credentials), so authenticating a call costs the
-- one query it needs anyway: the location (dialplan id / gateway set) of the auth ID's line and the call types
-- its class of service blocks (comma-separated; the person's own outgoing permissions or the location's).
ALTER TABLE subscriber ADD COLUMN IF NOT EXISTS location_id INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE subscriber ADD COLUMN IF NOT EXISTS blocked VARCHAR(400) DEFAULT '' NOT NULL;

-- A premises dial plan: its gateways are dispatcher set 2000000000 + id (calling/engine/kamailio.py).
CREATE TABLE IF NOT EXISTS ch_route_choice (
    id SERIAL PRIMARY KEY NOT NULL,
    choice_key VARCHAR(64) NOT NULL,
    domain VARCHAR(200) NOT NULL,
    org_key VARCHAR(64) NOT NULL,
    CONSTRAINT ch_route_choice_key_idx UNIQUE (choice_key)
);
CREATE INDEX IF NOT EXISTS ch_route_choice_org_idx ON ch_route_choice (org_key);
