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

    private StateStore(SqliteConnection conn) => this.conn = conn;

    public string DatabasePath { get; private init; } = "";

    public static StateStore Open(string path)
    {
        SqliteLoader.EnsureLoaded();
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
        var store = new StateStore(conn) { DatabasePath = path };
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
                throw new ContainerPSException(ErrorKind.NotSupported, "StateTooNew",
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
        using var cmd = Command(sql, args);
        return cmd.ExecuteNonQuery();
    }

    internal object? Scalar(string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(sql, args);
        return cmd.ExecuteScalar();
    }

    internal List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read())
            list.Add(map(r));
        return list;
    }

    private SqliteCommand Command(string sql, (string Name, object? Value)[] args)
    {
        var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.CommandTimeout = BusyTimeoutMs / 1000;
        foreach (var (name, value) in args)
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
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

    public void Dispose() => conn.Dispose();
}
