using Microsoft.Extensions.Options;
using Tailor.Server.Accounts;
using Tailor.Server.Grains;
using Tailor.Server.Ingest;
using Tailor.Server.Lookup;

namespace Tailor.Server.Hosting;

/// <summary>
/// Runs before the server listens: prints the settings (secrets masked), loads accounts into memory
/// and, with --demo on an empty data directory, creates the demo. Then sweeps old idempotency entries.
/// </summary>
public sealed partial class StartupService(
    IOptions<TailorOptions> options, AccountDirectory accounts, IdempotencyCache idempotency, IServiceProvider services, ILogger<StartupService> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var dataDirectory = Path.GetFullPath(settings.DataDirectory);
        var gcMode = System.Runtime.GCSettings.IsServerGC ? "server" : "workstation";
        var gcLatency = System.Runtime.GCSettings.LatencyMode.ToString();
        LogSettings(dataDirectory, settings.Demo, settings.GroupCommitMaxBatch, settings.IdleProfileTimeout, settings.MaxEventBytes, "admin/****", gcMode, gcLatency);
        await accounts.LoadAsync(cancellationToken);
        // Lookups answer from memory: the indexes are built before the server listens. Stitching too:
        // the identity indexes start loading once the lookup build has read the store (it then fills
        // its tables on one core: the other is free), and the first calls wait for them if need be.
        services.GetRequiredService<LookupIndexes>().BuildAll(scanned: () => _ = WarmIdentityIndexes());
        if (settings.Demo) await ActivatorUtilities.CreateInstance<DemoSetup>(services).RunAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    private async Task WarmIdentityIndexes()
    {
        var grains = services.GetRequiredService<IGrainFactory>();
        foreach (var account in accounts.AccountIds)
            foreach (var audience in accounts.Config(account)?.Compiled.Audiences.Keys ?? [])
            {
                try
                {
                    await grains.Identity(account, audience).Warm();
                }
                catch (Exception ex)
                {
                    // Not fatal: the first call of the audience loads the index again.
                    LogWarmFailed(ex, account, audience);
                }
            }
    }

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Loading the identity index of account {Account}, audience {Audience} at startup failed")]
    private partial void LogWarmFailed(Exception ex, long account, string audience);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        while (await timer.WaitForNextTickAsync(stoppingToken)) idempotency.Sweep();
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
        Message = "Tailor settings: data directory {DataDirectory}, demo {Demo}, group commit batch ≤ {MaxBatch}, idle profiles deactivated after {Idle}, events ≤ {MaxEventBytes} bytes, admin key {AdminKey} (in admin.key), GC {GcMode} ({GcLatency})")]
    private partial void LogSettings(string dataDirectory, bool demo, int maxBatch, TimeSpan idle, int maxEventBytes, string adminKey, string gcMode, string gcLatency);
}
