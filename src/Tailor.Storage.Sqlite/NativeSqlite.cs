using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tailor.Storage.Sqlite;

/// <summary>The SQLite C functions Microsoft.Data.Sqlite does not expose, from the library it loads.</summary>
internal static partial class NativeSqlite
{
    public const int FileControlFilePointer = 7;
    /// <summary>SQLITE_FCNTL_JOURNAL_POINTER: the journal's file, in WAL mode the WAL's.</summary>
    public const int FileControlJournalPointer = 28;
    public const int SyncNormal = 2;

    [LibraryImport("e_sqlite3", StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int sqlite3_file_control(IntPtr db, string zDbName, int op, out IntPtr file);

    /// <summary>sync_file_range(2)'s flags: wait for writeback already under way, start it, wait for it.</summary>
    public const uint SyncFileRangeWaitAndWrite = 1 | 2 | 4;

    /// <summary>Linux only (glibc and musl export it); elsewhere the call throws EntryPointNotFoundException.</summary>
    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    public static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);
}
