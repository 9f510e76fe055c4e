using System.Runtime.InteropServices;

namespace ContainerPS.Engine.State;

/// <summary>
/// Points SQLitePCLRaw at the system's libsqlite3.so.0 (Debian's libsqlite3-0). pwsh does not probe
/// runtimes/&lt;rid&gt;/native for a module's native libraries, so nothing is bundled: the library is
/// resolved by its soname, the same in pwsh, in a test host and in dotnet test.
/// </summary>
internal static class SqliteLoader
{
    private static readonly Lazy<bool> init = new(() =>
    {
        var provider = typeof(SQLitePCL.SQLite3Provider_sqlite3).Assembly;
        NativeLibrary.SetDllImportResolver(provider, (name, _, _) =>
        {
            if (name != "sqlite3")
                return IntPtr.Zero;
            foreach (var candidate in new[] { "libsqlite3.so.0", "libsqlite3.so" })
                if (NativeLibrary.TryLoad(candidate, out var handle))
                    return handle;
            throw new DllNotFoundException("libsqlite3.so.0 was not found: install Debian's libsqlite3-0 (build.ps1 -Task Bootstrap).");
        });
        SQLitePCL.raw.SetProvider(new SQLitePCL.SQLite3Provider_sqlite3());
        return true;
    });

    public static void EnsureLoaded() => _ = init.Value;
}
