using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tailor.Storage.Sqlite;

/// <summary>The SQLite C functions Microsoft.Data.Sqlite does not expose, from the library it loads.</summary>
internal static partial class NativeSqlite
{
    public const int FileControlFilePointer = 7;
    public const int SyncNormal = 2;

    [LibraryImport("e_sqlite3", StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int sqlite3_file_control(IntPtr db, string zDbName, int op, out IntPtr file);
}
