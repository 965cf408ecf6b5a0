using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Tailor.Server.Accounts;
using Tailor.Server.Apis;
using Tailor.Server.Import;
using Tailor.Server.Grains;
using Tailor.Server.Ingest;
using Tailor.Server.Lookup;
using Tailor.Storage;
using Tailor.Storage.Sqlite;

namespace Tailor.Server.Hosting;

/// <summary>Builds the server: options, storage, the Orleans silo, the log writer and the APIs.</summary>
public static class ServerSetup
{
    /// <summary>Short command-line switches: <c>--demo</c>, <c>--data DIR</c>.</summary>
    public static string[] NormalizeArgs(string[] args)
    {
        // Configuration files are read once: a reload-on-change watcher would watch the content root
        // recursively, and the data directory (./data by default) is under it, so every write of the
        // store would wake it (measured: a tenth of the server's time under load).
        var result = new List<string> { "--hostBuilder:reloadConfigOnChange=false" };
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
        // The defaults shipped beside the binary, at the lowest priority: found from any working directory,
        // and overridden by the content root's appsettings, the environment and the command line.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
        {
            Path = "appsettings.json",
            Optional = true,
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory),
        });
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls("http://127.0.0.1:8080");
        ConfigureServices(builder);
        var app = builder.Build();
        // Unexpected exceptions answer as ApiError.ForUnexpected says, logged by the exception handler. Not
        // around the endpoints that answer their own (the personalization call): for a request that
        // completes later, the handler's await costs an object per request.
        app.UseWhen(
            context => context.GetEndpoint()?.Metadata.GetMetadata<AnswersItsOwnErrors>() is null,
            branch => branch.UseExceptionHandler(errors => errors.Run(context =>
            {
                var error = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
                return (error is null ? ApiError.Internal() : ApiError.ForUnexpected(error)).ExecuteAsync(context);
            })));
        // Without trusted proxies the middleware would believe no header, yet cost objects on every request.
        if (app.Services.GetRequiredService<IOptions<TailorOptions>>().Value.TrustedProxies.Count > 0) app.UseForwardedHeaders();
        app.MapPersonalizationApi();
        app.MapAccountsApi();
        app.MapConfigApi();
        app.MapEventsApi();
        app.MapProfilesApi();
        app.MapImportApi();
        app.MapLookupApi();
        app.MapAuditApi();
        app.MapRuntimeApi();
        app.MapBackupApi();
        app.MapGet("/health", () => Results.Json(new { status = "ok" }));
        app.MapOpenApi(); // GET /openapi/v1.json
        return app;
    }

    private static void ConfigureServices(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        // Options are read from the final configuration when first needed (tests add settings late).
        services.AddOptions<TailorOptions>().Bind(builder.Configuration.GetSection(TailorOptions.Section)).ValidateDataAnnotations().ValidateOnStart();

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The event API reads at most MaxEventBytes itself (413 beyond); this is the hard stop for everything else.
            kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
            // Set deliberately (docs/security.md): small headers, a bounded number of connections,
            // and clients that stall while sending headers or a body are cut off.
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestHeaderCount = 64;
            kestrel.Limits.MaxRequestLineSize = 8 * 1024;
            kestrel.Limits.MaxConcurrentConnections = 10_000;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(15);
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(120);
            kestrel.Limits.MinRequestBodyDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
        });
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver()));

        services.AddOpenApi(openApi =>
        {
            openApi.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Tailor";
                document.Info.Description = "Real-time personalization (POST /{database}/{table}) and the admin API. See docs/api.md.";
                return Task.CompletedTask;
            });
            // The exception handler above answers 503 on any endpoint that reaches the store or a grain.
            openApi.AddOperationTransformer((operation, _, _) =>
            {
                operation.Responses ??= [];
                operation.Responses.TryAdd("503", new Microsoft.OpenApi.OpenApiResponse
                {
                    Description = "Service unavailable, retry later: the store could not write (a full disk; code 5003), the call did not complete within 30 s (5004), or (lookup APIs) the lookup index is not available.",
                });
                return Task.CompletedTask;
            });
        });
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<TailorOptions>>((forwarded, tailor) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            // The defaults trust loopback; Tailor trusts only the proxies it is told about.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            forwarded.ForwardLimit = null;
            foreach (var proxy in tailor.Value.TrustedProxies)
            {
                if (System.Net.IPNetwork.TryParse(proxy, out var network)) forwarded.KnownIPNetworks.Add(network);
                else if (IPAddress.TryParse(proxy, out var address)) forwarded.KnownProxies.Add(address);
                else throw new OptionsValidationException(nameof(TailorOptions.TrustedProxies), typeof(TailorOptions), [$"Tailor:TrustedProxies: `{proxy}` is not an address or a CIDR"]);
            }
        });
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger<SqliteStore>();
            return new SqliteStore(Path.Combine(DataDirectory(sp), "tailor.db"),
                writeBehindAfter: sp.GetRequiredService<IOptions<TailorOptions>>().Value.WriteBehindAfter,
                writeBehindFailed: ex => StorageLog.WriteBehindFailed(log, ex));
        });
        services.AddSingleton<IAccountStore>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton<IEventStore>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton<IProfileStore>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton(sp => new Secrets(DataDirectory(sp)));
        services.AddSingleton<AccountDirectory>();
        services.AddSingleton<IdempotencyCache>();
        services.AddSingleton(sp => new IdentityHints(sp.GetRequiredService<IOptions<TailorOptions>>().Value.IdentityHints));
        services.AddSingleton<LocalGrains>();
        services.AddSingleton<Reactor>();
        services.AddSingleton<GroupCommitLog>();
        services.AddSingleton<LookupIndexes>();
        services.AddSingleton<LookupUsage>();
        services.AddSingleton<BulkGate>();
        services.AddSingleton<ProfileImporter>();

        // Start order = registration order, all before Kestrel listens: the log, the silo, then accounts and the demo.
        services.AddHostedService(sp => sp.GetRequiredService<GroupCommitLog>());
        var siloPort = builder.Configuration.GetValue<int?>($"{TailorOptions.Section}:{nameof(TailorOptions.SiloPort)}") ?? 0;
        var gatewayPort = builder.Configuration.GetValue<int?>($"{TailorOptions.Section}:{nameof(TailorOptions.GatewayPort)}") ?? 0;
        builder.UseOrleans(silo =>
        {
            // One node: membership lives in this process, so each process is its own cluster.
            silo.UseLocalhostClustering(siloPort == 0 ? FreePort() : siloPort, gatewayPort == 0 ? FreePort() : gatewayPort,
                serviceId: "tailor", clusterId: "tailor-" + Guid.NewGuid().ToString("N")[..12]);
            silo.Services.AddOptions<GrainCollectionOptions>().Configure<IOptions<TailorOptions>>((collection, tailor) =>
            {
                collection.CollectionAge = tailor.Value.IdleProfileTimeout;
                collection.CollectionQuantum = TimeSpan.FromSeconds(Math.Clamp(tailor.Value.IdleProfileTimeout.TotalSeconds / 2, 1, 60));
            });
        });
        services.AddHostedService<StartupService>();
        services.AddHostedService(sp => sp.GetRequiredService<LookupUsage>());
    }

    private static string DataDirectory(IServiceProvider services)
    {
        var directory = Path.GetFullPath(services.GetRequiredService<IOptions<TailorOptions>>().Value.DataDirectory);
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
