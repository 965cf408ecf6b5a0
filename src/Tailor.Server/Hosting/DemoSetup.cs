using System.Text.Json;
using Microsoft.Extensions.Options;
using Tailor.Server.Accounts;
using Tailor.Server.Import;
using Tailor.Storage;

namespace Tailor.Server.Hosting;

/// <summary>
/// <c>--demo</c>: on an empty data directory, creates a demo account with the demo configuration
/// (samples/demo.yaml: the spec's example plus a public service), its keys and tokens, a few thousand
/// imported profiles, and <c>demo.json</c> (mode 600); then prints a curl that returns an offer.
/// A data directory that already has accounts is reused as it is.
/// </summary>
public sealed partial class DemoSetup(
    AccountDirectory accounts, ProfileImporter importer, IOptions<TailorOptions> options, IConfiguration configuration, ILogger<DemoSetup> logger)
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

    private static readonly string[] FirstNames = ["john", "mary", "james", "patricia", "robert", "jennifer", "michael", "linda", "william", "elizabeth"];
    private static readonly string[] LastNames = ["doe", "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "wilson"];
    private static readonly string[] Ages = ["18-20", "21-24", "25-34", "35-44", "45-54", "55-64", "65+"];
    private static readonly string[] Incomes = ["0-15k", "15k-25k", "25k-35k", "35k-50k", "50k-75k", "75k-100k", "100k-150k", "150k-250k", "250k+"];
    private static readonly string[] Interests = ["sports", "travel", "cooking", "fashion", "technology", "outdoors"];

    /// <summary>
    /// Imports synthetic profiles through the profile importer (as `tailor import` would): an email,
    /// a name and zip, lookup fields, a loyalty level; high loyalty is in batch segment 1588214.
    /// </summary>
    private async Task<IReadOnlyList<string>> SeedProfilesAsync(long accountId, int count, CancellationToken cancellationToken)
    {
        var random = new Random(20261123);
        var samples = new List<string>();
        using var ndjson = new MemoryStream();
        using (var writer = new Utf8JsonWriter(ndjson))
        {
            for (var i = 1; i <= count; i++)
            {
                var email = $"customer{i}@example.com";
                var loyalty = Loyalty[random.Next(Loyalty.Length)];
                writer.WriteStartObject();
                writer.WriteString("email", email);
                writer.WriteString("first", FirstNames[i % FirstNames.Length]);
                writer.WriteString("last", LastNames[i / FirstNames.Length % LastNames.Length]);
                writer.WriteString("zip", (94000 + i % 1000).ToString("D5", System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteString("age", Ages[random.Next(Ages.Length)]);
                writer.WriteString("gender", random.Next(2) == 0 ? "Male" : "Female");
                writer.WriteString("household_income", Incomes[random.Next(Incomes.Length)]);
                writer.WriteStartObject("interests");
                foreach (var interest in Interests.Where(_ => random.Next(3) == 0)) writer.WriteBoolean(interest, true);
                writer.WriteEndObject();
                writer.WriteString("loyalty", loyalty);
                if (loyalty == "high")
                {
                    writer.WriteStartArray("batch_segments");
                    writer.WriteStringValue("1588214");
                    writer.WriteEndArray();
                    if (samples.Count < 5) samples.Add(email);
                }
                writer.WriteEndObject();
                writer.Flush();
                ndjson.WriteByte((byte)'\n');
                writer.Reset();
            }
        }
        ndjson.Position = 0;
        var summary = await importer.RunAsync(accountId, "shoppers", ndjson, null, cancellationToken);
        if (summary.Rejected > 0) throw new InvalidOperationException($"the demo's own import rejected {summary.Rejected} rows: {summary.Rejections[0].Reason}");
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

            Look the same customer up (enrichment API; by email, md5_email, or first + last + zip):

              curl -s '{{demo.Url}}/v5/ei?api_key={{demo.LookupKey}}&email={{email}}'

            """);
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Demo: imported {Count} synthetic profiles")]
    private partial void LogSeeded(int count);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Demo: {DataDirectory} already has accounts but no demo.json; it is used as it is")]
    private partial void LogNotEmpty(string dataDirectory);
}
