namespace ContainerPS.Engine.State;

/// <summary>
/// Forward-only schema migrations. Migration N takes the database from user_version N-1 to N.
/// Never edit a released migration: add a new one.
/// </summary>
internal static class Schema
{
    public static readonly string[] Migrations =
    {
        // 1: storage pools and volumes, host settings.
        """
        CREATE TABLE settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE pools (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            driver      TEXT NOT NULL,
            source      TEXT NOT NULL,
            owns_source INTEGER NOT NULL DEFAULT 0,
            description TEXT NOT NULL DEFAULT '',
            config      TEXT NOT NULL DEFAULT '{}',
            created_at  TEXT NOT NULL,
            state       TEXT NOT NULL,
            op_pid      INTEGER,
            op_start    INTEGER,
            op_arg      TEXT
        );
        CREATE TABLE volumes (
            id          INTEGER PRIMARY KEY,
            pool_id     INTEGER NOT NULL REFERENCES pools(id),
            name        TEXT NOT NULL,
            type        TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            config      TEXT NOT NULL DEFAULT '{}',
            created_at  TEXT NOT NULL,
            state       TEXT NOT NULL,
            op_pid      INTEGER,
            op_start    INTEGER,
            op_arg      TEXT,
            UNIQUE (pool_id, type, name)
        );
        """,
        // 2: images, containers and their snapshots.
        """
        CREATE TABLE images (
            id          INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            alias       TEXT UNIQUE,
            format      TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            properties  TEXT NOT NULL DEFAULT '{}',
            size        INTEGER NOT NULL DEFAULT 0,
            created_at  TEXT NOT NULL,
            state       TEXT NOT NULL,
            op_pid      INTEGER,
            op_start    INTEGER,
            op_arg      TEXT
        );
        CREATE TABLE containers (
            id              INTEGER PRIMARY KEY,
            name            TEXT NOT NULL UNIQUE,
            uuid            TEXT NOT NULL UNIQUE,
            image           TEXT NOT NULL DEFAULT '',
            pool_id         INTEGER NOT NULL REFERENCES pools(id),
            privileged      INTEGER NOT NULL DEFAULT 0,
            isolated        INTEGER NOT NULL DEFAULT 0,
            idmap_base      INTEGER,
            idmap_size      INTEGER,
            config          TEXT NOT NULL DEFAULT '{}',
            devices         TEXT NOT NULL DEFAULT '{}',
            created_at      TEXT NOT NULL,
            last_started_at TEXT,
            state           TEXT NOT NULL,
            op_pid          INTEGER,
            op_start        INTEGER,
            op_arg          TEXT
        );
        CREATE TABLE snapshots (
            id           INTEGER PRIMARY KEY,
            container_id INTEGER NOT NULL REFERENCES containers(id),
            name         TEXT NOT NULL,
            stateful     INTEGER NOT NULL DEFAULT 0,
            created_at   TEXT NOT NULL,
            state        TEXT NOT NULL,
            op_pid       INTEGER,
            op_start     INTEGER,
            op_arg       TEXT,
            UNIQUE (container_id, name)
        );
        """,
        // 3: CNI networks and the containers attached to them (with the cached ADD result).
        """
        CREATE TABLE networks (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            config      TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL
        );
        CREATE TABLE container_networks (
            container_id INTEGER NOT NULL REFERENCES containers(id),
            network_id   INTEGER NOT NULL REFERENCES networks(id),
            ifname       TEXT NOT NULL,
            options      TEXT NOT NULL DEFAULT '{}',
            add_config   TEXT,
            result       TEXT,
            PRIMARY KEY (container_id, network_id),
            UNIQUE (container_id, ifname)
        );
        """,
        // 4: custom storage volumes mounted into containers (devices of type disk).
        """
        CREATE TABLE container_volumes (
            container_id INTEGER NOT NULL REFERENCES containers(id),
            volume_id    INTEGER NOT NULL REFERENCES volumes(id),
            name         TEXT NOT NULL,
            path         TEXT NOT NULL,
            readonly     INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (container_id, name),
            UNIQUE (container_id, path),
            UNIQUE (container_id, volume_id)
        );
        """,
    };

    public static int Version => Migrations.Length;
}
