namespace Tailor.Server.Apis;

/// <summary>
/// <c>GET /v1/runtime</c> (server administrator): the process's runtime counters — allocation, GC,
/// thread pool — so that a load run can report bytes allocated and GC pauses per call (two readings
/// around the run; benchmark/load/run.sh does it) where dotnet-counters cannot be installed.
/// </summary>
internal static class RuntimeApi
{
    public static IEndpointRouteBuilder MapRuntimeApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/runtime", (HttpContext context) =>
        {
            if (AdminAuth.ServerAdmin(context, "Reading the runtime counters") is { } error) return error;
            var gc = GC.GetGCMemoryInfo();
            return Results.Json(new
            {
                allocated_bytes = GC.GetTotalAllocatedBytes(),
                gc_count = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) },
                gc_pause_ms = GC.GetTotalPauseDuration().TotalMilliseconds,
                gc_heap_bytes = gc.HeapSizeBytes,
                gc_committed_bytes = gc.TotalCommittedBytes,
                gc_server = System.Runtime.GCSettings.IsServerGC,
                thread_pool_threads = ThreadPool.ThreadCount,
                thread_pool_completed = ThreadPool.CompletedWorkItemCount,
                lock_contentions = Monitor.LockContentionCount,
                cpu_ms = Environment.CpuUsage.TotalTime.TotalMilliseconds,
            });
        });
        return app;
    }
}
