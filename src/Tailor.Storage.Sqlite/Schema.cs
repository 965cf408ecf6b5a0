namespace Tailor.Storage.Sqlite;

/// <summary>
/// The database schema (version 4; version 1 to 3 files are migrated on open): the log, accounts and
/// configuration in the main file, the tables written behind the log in a second file (<see cref="ProfileTables"/>).
/// See docs/operations.md for how to query it.
/// </summary>
internal static class Schema
{
    public const int Version = 4;

    public const string Create = """
        CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS accounts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS api_keys (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            kind TEXT NOT NULL,
            label TEXT NOT NULL,
            hash BLOB NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER,
            lookup_grant TEXT);
        CREATE TABLE IF NOT EXISTS tokens (
            instance_id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            service TEXT NOT NULL,
            name TEXT NOT NULL,
            hash BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER);
        CREATE TABLE IF NOT EXISTS config_versions (
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            version INTEGER NOT NULL,
            format TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, version));
        CREATE TABLE IF NOT EXISTS events (
            seq INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL,
            db TEXT NOT NULL,
            tbl TEXT NOT NULL,
            uuid TEXT NOT NULL,
            client_uuid INTEGER NOT NULL,
            time INTEGER NOT NULL,
            audience TEXT NOT NULL,
            profile_id BLOB NOT NULL,
            body TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS events_by_table ON events (account_id, db, tbl, seq);
        -- Only uuids a client sent can repeat (idempotent retries); server-filled ones are unique.
        CREATE INDEX IF NOT EXISTS events_by_client_uuid ON events (account_id, uuid) WHERE client_uuid = 1;
        """ + Version2;

    /// <summary>What version 2 added (the lookup API); run on a version 1 file after <see cref="Version1To2"/>.</summary>
    public const string Version2 = $$"""
        CREATE TABLE IF NOT EXISTS key_usage (
            key_id INTEGER NOT NULL,
            period TEXT NOT NULL,
            records INTEGER NOT NULL,
            PRIMARY KEY (key_id, period)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS audit_log (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS audit_by_account ON audit_log (account_id, id);
        -- The log position of the last commit without an event (profile import), so that sequence
        -- numbers never go back after a restart.
        -- Changes committed with the log but not yet written into profiles, identities, aliases and
        -- lookup_key_sets (the store writes them behind, every 30 s by default); see docs/operations.md.
        CREATE TABLE IF NOT EXISTS pending_changes (
            seq INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL,
            audience TEXT NOT NULL,
            profile_id BLOB NOT NULL,
            snapshot BLOB NOT NULL,
            effects BLOB);
        CREATE TABLE IF NOT EXISTS log_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_seq INTEGER NOT NULL);
        -- The same random id in both files: they are one store (SqliteStore.PairFiles).
        CREATE TABLE IF NOT EXISTS store_pair {{StorePairColumns}};
        """;

    /// <summary>The tables written behind the log, in their own file (attached as <c>profile_store</c>).</summary>
    public const string ProfileTables = $$"""
        CREATE TABLE IF NOT EXISTS profile_store.profiles (
            account_id INTEGER NOT NULL,
            audience TEXT NOT NULL,
            id BLOB NOT NULL,
            applied_seq INTEGER NOT NULL,
            snapshot BLOB NOT NULL,
            PRIMARY KEY (account_id, audience, id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS profile_store.identities (
            account_id INTEGER NOT NULL,
            audience TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            profile_id BLOB NOT NULL,
            PRIMARY KEY (account_id, audience, key, value)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS profile_store.aliases (
            account_id INTEGER NOT NULL,
            audience TEXT NOT NULL,
            from_id BLOB NOT NULL,
            to_id BLOB NOT NULL,
            PRIMARY KEY (account_id, audience, from_id)) WITHOUT ROWID;
        -- The lookup keys an import row gave a profile (16 bytes each, concatenated), one row per
        -- profile and set of keys: a row per key (up to five per imported person) cost the write-behind
        -- and the index's scan at start a B-tree row each. Keyed by profile (UUIDv7, so new profiles
        -- append): only the in-memory lookup index reads these, by scanning them all when it is built.
        CREATE TABLE IF NOT EXISTS profile_store.lookup_key_sets (
            account_id INTEGER NOT NULL,
            audience TEXT NOT NULL,
            profile_id BLOB NOT NULL,
            keys BLOB NOT NULL,
            PRIMARY KEY (account_id, audience, profile_id, keys)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS profile_store.store_pair {{StorePairColumns}};
        """;

    /// <summary>The one row of <c>store_pair</c>, in each of the two files.</summary>
    private const string StorePairColumns = "(id INTEGER PRIMARY KEY CHECK (id = 1), pair BLOB NOT NULL)";

    public const string Version1To2 = "ALTER TABLE api_keys ADD COLUMN lookup_grant TEXT;";

    /// <summary>Version 3's lookup keys, a row per key (version 2 files have it in the log's file, moved as it is before <see cref="Version3To4"/>).</summary>
    public const string Version3LookupKeys = """
        CREATE TABLE IF NOT EXISTS profile_store.lookup_keys (
            account_id INTEGER NOT NULL,
            audience TEXT NOT NULL,
            profile_id BLOB NOT NULL,
            key BLOB NOT NULL,
            PRIMARY KEY (account_id, audience, profile_id, key)) WITHOUT ROWID;
        """;

    /// <summary>
    /// Version 3 to 4, in the profile file: each profile's keys gathered into one set (group_concat joins
    /// the blobs' bytes as they are; each key is 16 bytes), then the table of single keys dropped.
    /// </summary>
    public const string Version3To4 = """
        INSERT OR IGNORE INTO profile_store.lookup_key_sets (account_id, audience, profile_id, keys)
            SELECT account_id, audience, profile_id, CAST(group_concat(key, '') AS BLOB) FROM profile_store.lookup_keys
            GROUP BY account_id, audience, profile_id;
        DROP TABLE profile_store.lookup_keys;
        """;
}
