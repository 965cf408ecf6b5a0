using System.Text.Json;
using Microsoft.Extensions.Options;
using Tailor.Core;
using Tailor.Core.Identity;
using Tailor.Core.Profiles;
using Tailor.Server.Accounts;
using Tailor.Storage;

namespace Tailor.Server.Hosting;

/// <summary>
/// <c>--demo</c>: on an empty data directory, creates a demo account with the demo configuration
/// (samples/demo.yaml: the spec's example plus a public service), its keys and tokens, a few thousand
/// imported profiles, and <c>demo.json</c> (mode 600); then prints a curl that returns an offer.
/// A data directory that already has accounts is reused as it is.
/// </summary>
public sealed partial class DemoSetup(
    AccountDirectory accounts, IProfileStore profiles, IOptions<TailorOptions> options, IConfiguration configuration, TimeProvider time, ILogger<DemoSetup> logger)
{
    public const string Database = "demo_db";
    public const string Table = "pageviews";
    public const string PublicOrigin = "http://localhost:3000";
    private static readonly string[] Loyalty = ["high", "medium", "low"];

    public sealed record DemoFile(
        string Url, long AccountId, string MasterKey, string WriteKey, string LookupKey, string Token, string PublicToken,
        string PublicOrigin, string Database, string Table, IReadOnlyList<string> SampleEmails);

    private static readonly JsonSerializerOptions FileJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var dataDirectory = Path.GetFullPath(options.Value.DataDirectory);
        var path = Path.Combine(dataDirectory, "demo.json");
        if ((await accounts.ListAccountsAsync()).Count > 0)
        {
            if (File.Exists(path)) Print(JsonSerializer.Deserialize<DemoFile>(await File.ReadAllTextAsync(path, cancellationToken), FileJson)!, path, reused: true);
            else LogNotEmpty(dataDirectory);
            return;
        }

        var (account, masterKey) = await accounts.CreateAccountAsync("demo");
        var yaml = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "demo.yaml"), cancellationToken);
        var (saved, errors) = await accounts.ApplyConfigAsync(account.Id, yaml, "demo.yaml");
        if (saved is null) throw new InvalidOperationException("samples/demo.yaml does not validate: " + string.Join("; ", errors));
        var (_, writeKey) = await accounts.CreateKeyAsync(account.Id, KeyKind.Write, "demo write key");
        var (_, lookupKey) = await accounts.CreateKeyAsync(account.Id, KeyKind.Lookup, "demo lookup key");
        var (_, token) = await accounts.CreateTokenAsync(account.Id, "web", "site");
        var (_, publicToken) = await accounts.CreateTokenAsync(account.Id, "web_public", "browser");
        var samples = await SeedProfilesAsync(account.Id, options.Value.DemoProfiles, cancellationToken);

        var demo = new DemoFile(Url(), account.Id, masterKey, writeKey, lookupKey, token, publicToken, PublicOrigin, Database, Table, samples);
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(demo, FileJson), cancellationToken);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Print(demo, path, reused: false);
    }

    private string Url()
    {
        var urls = configuration["urls"] ?? configuration["ASPNETCORE_URLS"] ?? "http://127.0.0.1:8080";
        return urls.Split(';', StringSplitOptions.RemoveEmptyEntries)[0].TrimEnd('/');
    }

    /// <summary>Imports synthetic profiles (an email, a loyalty level; high loyalty is in batch segment 1588214).</summary>
    private async Task<IReadOnlyList<string>> SeedProfilesAsync(long accountId, int count, CancellationToken cancellationToken)
    {
        var audience = accounts.Config(accountId)!.Compiled.Audiences["shoppers"];
        var scope = new AudienceScope(accountId, audience.Name);
        var random = new Random(20261123);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var batch = new List<(ProfileRecord, IReadOnlyList<IdentityRecord>)>(1000);
        var samples = new List<string>();
        for (var i = 1; i <= count; i++)
        {
            var email = $"customer{i}@example.com";
            var loyalty = Loyalty[random.Next(Loyalty.Length)];
            var state = audience.NewProfile(IdentityStitcher.NewProfileId(time), now);
            state.AddIdentifiers([new Identifier("email", email)], now);
            audience.Import(state, "loyalty", Value.FromString(loyalty), now);
            if (loyalty == "high")
            {
                state.SetBatchSegments(["1588214"]);
                if (samples.Count < 5) samples.Add(email);
            }
            batch.Add((new ProfileRecord(state.Id, 0, ProfileSnapshot.Write(state)), [new IdentityRecord("email", email, state.Id)]));
            if (batch.Count == 1000 || i == count)
            {
                await profiles.SaveProfilesAsync(scope, batch, cancellationToken);
                batch.Clear();
            }
        }
        LogSeeded(count);
        return samples;
    }

    private static void Print(DemoFile demo, string path, bool reused)
    {
        var email = demo.SampleEmails.Count > 0 ? demo.SampleEmails[0] : "customer1@example.com";
        Console.WriteLine($$"""

            Tailor demo {{(reused ? "(reusing the data directory)" : "is ready")}}: account {{demo.AccountId}}, keys and tokens in {{path}}
            Try it (an imported high-loyalty customer gets the offer at once):

              curl -s -X POST '{{demo.Url}}/{{demo.Database}}/{{demo.Table}}' \
                -H 'Content-Type: application/vnd.treasuredata.v1+json' \
                -H 'Authorization: TD1 {{demo.WriteKey}}' \
                -H 'WP13n-Token: {{demo.Token}}' \
                -d '{"td_client_id":"demo-visitor-1","email":"{{email}}","td_path":"/retail/shoes","product_category":"women","product_name":"boots"}'

            A new visitor (change td_client_id, drop the email) gets the `engaged` offer on the third pageview.

            """);
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Demo: imported {Count} synthetic profiles")]
    private partial void LogSeeded(int count);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Demo: {DataDirectory} already has accounts but no demo.json; it is used as it is")]
    private partial void LogNotEmpty(string dataDirectory);
}
