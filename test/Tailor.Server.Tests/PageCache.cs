using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tailor.Server.Tests;

/// <summary>
/// How many of a file's pages are in the page cache and dirty (Linux's <c>cachestat</c>, 6.5 and later):
/// what tests of the store's writeback observe.
/// </summary>
internal static partial class PageCache
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Range
    {
        public ulong Offset;
        public ulong Length; // 0: to the end of the file
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Stat
    {
        public ulong Cached;
        public ulong Dirty;
        public ulong Writeback;
        public ulong Evicted;
        public ulong RecentlyEvicted;
    }

    private const long SysCachestat = 451; // the same number on x86-64 and arm64

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, SafeFileHandle fd, ref Range range, out Stat stat, uint flags);

    public static Stat Of(SafeFileHandle file)
    {
        var range = new Range();
        if (Syscall(SysCachestat, file, ref range, out var stat, 0) != 0)
            throw new IOException($"cachestat failed: errno {Marshal.GetLastPInvokeError()}");
        return stat;
    }

    /// <summary>Why a test of dirty pages cannot run here, or null when it can.</summary>
    public static string? Unavailable(string directory)
    {
        if (!OperatingSystem.IsLinux()) return "cachestat is Linux only";
        // On tmpfs every page is dirty and fsync cleans nothing.
        var mount = File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' '))
            .Where(f => f.Length > 2 && directory.StartsWith(f[1], StringComparison.Ordinal))
            .MaxBy(f => f[1].Length);
        if (mount is not null && mount[2] is "tmpfs" or "ramfs") return $"{directory} is on {mount[2]}";
        var probe = Path.Combine(directory, "cachestat-probe");
        File.WriteAllBytes(probe, new byte[4096]);
        try
        {
            using var file = File.OpenHandle(probe);
            Of(file);
            return null;
        }
        catch (Exception ex) when (ex is IOException or EntryPointNotFoundException or DllNotFoundException)
        {
            return $"cachestat is not available ({ex.Message}; Linux 6.5 or later)";
        }
        finally
        {
            File.Delete(probe);
        }
    }
}

/// <summary>A test that reads a file's dirty pages: skipped where the page cache cannot be observed.</summary>
public sealed class PageCacheFactAttribute : FactAttribute
{
    public PageCacheFactAttribute() => Skip = PageCache.Unavailable(Path.GetTempPath());
}
