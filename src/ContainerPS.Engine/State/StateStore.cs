using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace ContainerPS.Engine.State;

/// <summary>
/// The SQLite state database ($root/state.db): WAL mode, versioned schema, a busy timeout so
/// several pwsh processes can work at once, and IMMEDIATE transactions around every change.
/// </summary>
public sealed partial class StateStore : IDisposable
{
    public const int BusyTimeoutMs = 30_000;
    private readonly SqliteConnection conn;
    // Commands of this connection, prepared once and kept by their SQL text (they go along when the
    // connection is reused): SQLite parses and plans a statement at every prepare, 40-80 us of each
    // query here, and a command opens the state several times before it does anything.
    private readonly Dictionary<string, SqliteCommand> prepared;
    private const int PreparedAtMost = 64;
    private readonly (ulong Ino, uint Major, uint Minor) file; // the database file the connection opened
    private bool disposed;

    private StateStore(SqliteConnection conn, (ulong, uint, uint) file, Dictionary<string, SqliteCommand>? prepared = null) =>
        (this.conn, this.file, this.prepared) = (conn, file, prepared ?? new(StringComparer.Ordinal));

    /// <summary>
    /// Open connections that finished commands handed back, per database file, for the next command of
    /// this process: opening SQLite, setting its pragmas and reading the schema is most of what a
    /// command costs before it does anything (a millisecond of each Invoke-ContainerExec). A connection
    /// is reused only for the same file (device and inode: a state root removed and made again is a
    /// new file) and only outside a transaction.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Concurrent.ConcurrentBag<StateStore>> Idle = new(StringComparer.Ordinal);

    private const int IdleAtMost = 8; // in all: a process that used many state roots (tests) keeps few files open
    private static int idleCount;

    private static (ulong, uint, uint)? FileOf(string path)
    {
        try
        {
            var st = Platform.LibC.LStat(path);
            return (st.stx_ino, st.stx_dev_major, st.stx_dev_minor);
        }
        catch (IOException) { return null; }
    }

    public string DatabasePath { get; private init; } = "";

    public static StateStore Open(string path)
    {
        SqliteLoader.EnsureLoaded();
        if (FileOf(path) is { } current && Idle.TryGetValue(path, out var idle))
        {
            while (idle.TryTake(out var reused))
            {
                Interlocked.Decrement(ref idleCount);
                if (reused.file == current)
                {
                    var again = new StateStore(reused.conn, reused.file, reused.prepared) { DatabasePath = path };
                    try { again.Migrate(); } // one read of user_version: another ContainerPS may have changed the schema meanwhile
                    catch { reused.CloseConnection(); throw; }
                    return again;
                }
                reused.CloseConnection(); // the file was replaced
            }
        }
        var isNew = !File.Exists(path);
        var cs = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString();
        var conn = new SqliteConnection(cs);
        conn.Open();
        if (isNew)
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var store = new StateStore(conn, FileOf(path) ?? default) { DatabasePath = path };
        try
        {
            store.Exec($"PRAGMA busy_timeout = {BusyTimeoutMs}");
            store.Exec("PRAGMA journal_mode = WAL");
            store.Exec("PRAGMA synchronous = FULL");
            store.Exec("PRAGMA foreign_keys = ON");
            store.Migrate();
        }
        catch
        {
            conn.Dispose();
            throw;
        }
        return store;
    }

    public int SchemaVersion => Convert.ToInt32(Scalar("PRAGMA user_version"), CultureInfo.InvariantCulture);

    private void Migrate()
    {
        if (SchemaVersion == Schema.Version)
            return;
        Write(() =>
        {
            var version = SchemaVersion; // re-read under the write lock: another process may have migrated
            if (version > Schema.Version)
                throw new ContainerPSException(Errors.StateTooNew,
                    $"The state database {DatabasePath} has schema version {version}; this ContainerPS knows up to {Schema.Version}. Use a newer ContainerPS.");
            for (var v = version; v < Schema.Version; v++)
            {
                Exec(Schema.Migrations[v]);
                Exec($"PRAGMA user_version = {v + 1}");
            }
        });
    }

    /// <summary>Runs <paramref name="body"/> in a BEGIN IMMEDIATE transaction (the write lock is taken up front, so no upgrade deadlocks).</summary>
    public T Write<T>(Func<T> body)
    {
        Exec("BEGIN IMMEDIATE");
        try
        {
            var result = body();
            Exec("COMMIT");
            return result;
        }
        catch
        {
            try { Exec("ROLLBACK"); } catch (SqliteException) { /* already rolled back by SQLite */ }
            throw;
        }
    }

    public void Write(Action body) => Write(() => { body(); return 0; });

    internal int Exec(string sql, params (string Name, object? Value)[] args)
    {
        var cmd = Command(sql, args);
        try { return cmd.ExecuteNonQuery(); }
        finally { Return(cmd); }
    }

    internal object? Scalar(string sql, params (string Name, object? Value)[] args)
    {
        var cmd = Command(sql, args);
        try { return cmd.ExecuteScalar(); }
        finally { Return(cmd); }
    }

    internal List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] args)
    {
        var cmd = Command(sql, args);
        try
        {
            using var r = cmd.ExecuteReader(); // disposing the reader resets the statement (no read snapshot is kept)
            var list = new List<T>();
            while (r.Read())
                list.Add(map(r));
            return list;
        }
        finally { Return(cmd); }
    }

    /// <summary>The prepared command for <paramref name="sql"/>, taken out of the cache while in use (a nested use of the same SQL gets a new one).</summary>
    private SqliteCommand Command(string sql, (string Name, object? Value)[] args)
    {
        ObjectDisposedException.ThrowIf(disposed, this); // its connection may serve another command now
        SqliteCommand? cmd;
        lock (prepared) // a host may serve several threads (jobs, Parallel): each gets a command of its own
            prepared.Remove(sql, out cmd);
        if (cmd is null) // a kept one comes back with no parameters (Return)
        {
            cmd = conn.CreateCommand();
            cmd.CommandText = sql;
            cmd.CommandTimeout = BusyTimeoutMs / 1000;
        }
        foreach (var (name, value) in args)
            // States and types are stored by name: an enum would be bound as its number.
            cmd.Parameters.AddWithValue(name, value is Enum ? throw new ArgumentException($"{name}: store {value.GetType().Name} values by name", nameof(args)) : value ?? DBNull.Value);
        return cmd;
    }

    private void Return(SqliteCommand cmd)
    {
        cmd.Parameters.Clear(); // no value (a config, a secret) stays referenced between commands
        lock (prepared)
        {
            if (!disposed && prepared.Count < PreparedAtMost && prepared.TryAdd(cmd.CommandText, cmd))
                return;
        }
        cmd.Dispose();
    }

    private static readonly string[] RowTables = { "pools", "volumes", "images", "containers", "snapshots" };

    /// <summary>
    /// Whether any row of <paramref name="tables"/> is mid-operation (a state other than ready, or an
    /// owner recorded): the repairs at the start of every command read their tables only then.
    /// </summary>
    public bool AnyUnfinished(params string[] tables)
    {
        if (tables.Length == 0 || tables.Any(t => !RowTables.Contains(t, StringComparer.Ordinal)))
            throw new ArgumentException("Not a table with row states.", nameof(tables));
        var sql = "SELECT " + string.Join(" OR ", tables.Select(t => $"EXISTS(SELECT 1 FROM {t} WHERE state <> 'ready' OR op_pid IS NOT NULL)"));
        return Convert.ToInt64(Scalar(sql), CultureInfo.InvariantCulture) != 0;
    }

    public string? GetSetting(string key) => Scalar("SELECT value FROM settings WHERE key = $k", ("$k", key)) as string;

    public void SetSetting(string key, string? value)
    {
        if (value is null)
            Exec("DELETE FROM settings WHERE key = $k", ("$k", key));
        else
            Exec("INSERT INTO settings(key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$k", key), ("$v", value));
    }

    internal static string ToJson(IReadOnlyDictionary<string, string> config) =>
        JsonSerializer.Serialize(new SortedDictionary<string, string>(config.ToDictionary(), StringComparer.Ordinal));

    internal static SortedDictionary<string, string> FromJson(string json) =>
        new(JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? new(), StringComparer.Ordinal);

    internal static string Timestamp(DateTime t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    internal static DateTime ParseTimestamp(string s) =>
        DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private void CloseConnection()
    {
        lock (prepared)
        {
            foreach (var cmd in prepared.Values)
                cmd.Dispose();
            prepared.Clear();
        }
        conn.Dispose();
    }

    /// <summary>Hands the connection back for the next command of this process (outside a transaction), else closes it.</summary>
    public void Dispose()
    {
        if (disposed)
            return;
        disposed = true;
        if (conn.State != System.Data.ConnectionState.Open || SQLitePCL.raw.sqlite3_get_autocommit(conn.Handle) == 0)
        {
            CloseConnection();
            return;
        }
        if (Interlocked.Increment(ref idleCount) > IdleAtMost && !CloseIdleOfAnother(DatabasePath))
        {
            Interlocked.Decrement(ref idleCount);
            CloseConnection();
            return;
        }
        Idle.GetOrAdd(DatabasePath, _ => new()).Add(new StateStore(conn, file, prepared) { DatabasePath = DatabasePath });
    }

    /// <summary>Closes one idle connection to another database (a state root this process used before), to make room.</summary>
    private static bool CloseIdleOfAnother(string path)
    {
        foreach (var (other, idle) in Idle)
        {
            if (other != path && idle.TryTake(out var old))
            {
                Interlocked.Decrement(ref idleCount);
                old.CloseConnection();
                return true;
            }
        }
        return false;
    }
}
