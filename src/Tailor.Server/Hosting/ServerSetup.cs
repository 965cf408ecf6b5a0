using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Tailor.Server.Accounts;
using Tailor.Server.Apis;
using Tailor.Server.Ingest;
using Tailor.Storage;
using Tailor.Storage.Sqlite;

namespace Tailor.Server.Hosting;

/// <summary>Builds the server: options, storage, the Orleans silo, the log writer and the APIs.</summary>
public static class ServerSetup
{
    /// <summary>Short command-line switches: <c>--demo</c>, <c>--data DIR</c>.</summary>
    public static string[] NormalizeArgs(string[] args)
    {
        var result = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--demo": result.Add("--Tailor:Demo=true"); break;
                case "--data" when i + 1 < args.Length: result.Add($"--Tailor:DataDirectory={args[++i]}"); break;
                default: result.Add(args[i]); break;
            }
        }
        return [.. result];
    }

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(NormalizeArgs(args));
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls("http://127.0.0.1:8080");
        ConfigureServices(builder);
        var app = builder.Build();
        app.MapPersonalizationApi();
        app.MapAccountsApi();
        app.MapConfigApi();
        app.MapEventsApi();
        app.MapProfilesApi();
        app.MapGet("/health", () => Results.Json(new { status = "ok" }));
        return app;
    }

    private static void ConfigureServices(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TailorOptions>().Bind(builder.Configuration.GetSection(TailorOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(TailorOptions.Section).Get<TailorOptions>() ?? new TailorOptions();
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(dataDirectory);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The event API reads at most MaxEventBytes itself (413 beyond); this is the hard stop for everything else.
            kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver()));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => new SqliteStore(Path.Combine(dataDirectory, "tailor.db")));
        services.AddSingleton<IAccountStore>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton<IEventStore>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton<IProfileStore>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton(_ => new Secrets(dataDirectory));
        services.AddSingleton<AccountDirectory>();
        services.AddSingleton<IdempotencyCache>();
        services.AddSingleton<Reactor>();
        services.AddSingleton<GroupCommitLog>();

        // Start order = registration order, all before Kestrel listens: the log, the silo, then accounts and the demo.
        services.AddHostedService(sp => sp.GetRequiredService<GroupCommitLog>());
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(
                siloPort: options.SiloPort == 0 ? FreePort() : options.SiloPort,
                gatewayPort: options.GatewayPort == 0 ? FreePort() : options.GatewayPort,
                serviceId: "tailor",
                clusterId: "tailor-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(dataDirectory)))[..12]);
            silo.Configure<GrainCollectionOptions>(collection =>
            {
                collection.CollectionAge = options.IdleProfileTimeout;
                collection.CollectionQuantum = TimeSpan.FromSeconds(Math.Min(60, Math.Max(1, options.IdleProfileTimeout.TotalSeconds / 2)));
            });
        });
        services.AddHostedService<StartupService>();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
