using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Tailor.Cli;

/// <summary>
/// The <c>tailor</c> command. Every subcommand talks to a running server's admin API
/// (<c>--url</c>, default <c>TAILOR_URL</c> or http://127.0.0.1:8080) with the account's master key
/// (<c>--key</c> / <c>TAILOR_KEY</c>); account creation uses the server administrator's key.
/// </summary>
public static class TailorCli
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, HttpMessageHandler? handler = null)
    {
        var url = new Option<string>("--url") { Description = "The server's address", Recursive = true, DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TAILOR_URL") ?? "http://127.0.0.1:8080" };
        var key = new Option<string?>("--key") { Description = "The account's master key ({account_id}/{40 hex})", Recursive = true, DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TAILOR_KEY") };
        var adminKey = new Option<string?>("--admin-key") { Description = "The server administrator's key (admin.key in the data directory)", Recursive = true, DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TAILOR_ADMIN_KEY") };
        var data = new Option<DirectoryInfo?>("--data") { Description = "The server's data directory (to read admin.key)", Recursive = true };
        var root = new RootCommand("tailor: operate a Tailor personalization server (accounts, keys, tokens, configuration, events)");
        root.Options.Add(url);
        root.Options.Add(key);
        root.Options.Add(adminKey);
        root.Options.Add(data);

        AdminClient Client(ParseResult parse, bool longRunning = false)
        {
            var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
            http.BaseAddress = new Uri(parse.GetValue(url)!.TrimEnd('/') + "/");
            http.Timeout = longRunning ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(100);
            var admin = parse.GetValue(adminKey);
            if (admin is null && parse.GetValue(data) is { } directory && File.Exists(Path.Combine(directory.FullName, "admin.key")))
                admin = File.ReadAllText(Path.Combine(directory.FullName, "admin.key")).Trim();
            return new AdminClient(http, parse.GetValue(key), admin);
        }

        // Keys and tokens are revoked the same way: DELETE {path}/{id}.
        void AddRevoke(Command parent, string what, string argumentName, string description, string path)
        {
            var id = new Argument<long>(argumentName) { Description = description };
            Add(parent, new Command("revoke", $"Revoke a {what}") { id }, async (p, c, ct) =>
            {
                await c.SendAsync(HttpMethod.Delete, $"{path}/{p.GetValue(id)}", cancellationToken: ct);
                await output.WriteLineAsync($"{what} {p.GetValue(id)} revoked");
            });
        }

        // Keys and tokens list the same way: one line each, revoked ones marked.
        async Task PrintList(AdminClient client, string path, Func<JsonElement, string> line, CancellationToken cancellationToken)
        {
            foreach (var item in (await client.SendAsync(HttpMethod.Get, path, cancellationToken: cancellationToken)).EnumerateArray())
                await output.WriteLineAsync(line(item) + (item.GetProperty("revoked_at").ValueKind == JsonValueKind.Null ? "" : "  REVOKED"));
        }

        void Add(Command parent, Command command, Func<ParseResult, AdminClient, CancellationToken, Task> action) =>
            AddWithExitCode(parent, command, async (parse, client, cancellationToken) =>
            {
                await action(parse, client, cancellationToken);
                return 0;
            });

        void AddWithExitCode(Command parent, Command command, Func<ParseResult, AdminClient, CancellationToken, Task<int>> action, bool longRunning = false)
        {
            command.SetAction(async (parse, cancellationToken) =>
            {
                try
                {
                    return await action(parse, Client(parse, longRunning), cancellationToken);
                }
                catch (CliException ex)
                {
                    await error.WriteLineAsync($"tailor: {ex.Message}");
                    return 1;
                }
            });
            parent.Subcommands.Add(command);
        }

        // accounts
        var accounts = new Command("accounts", "Create and list accounts (server administrator)");
        root.Subcommands.Add(accounts);
        var accountName = new Argument<string>("name") { Description = "A name for the account" };
        Add(accounts, new Command("create", "Create an account and its first master key") { accountName }, async (p, c, ct) =>
        {
            var created = await c.SendAsync(HttpMethod.Post, "v1/accounts", AdminClient.Json(new { name = p.GetValue(accountName) }), admin: true, ct);
            await output.WriteLineAsync($"account {created.GetProperty("account_id")} created");
            await output.WriteLineAsync($"master key: {created.GetProperty("master_key").GetString()}   (shown once: store it now)");
        });
        Add(accounts, new Command("list", "List accounts"), async (_, c, ct) =>
        {
            foreach (var account in (await c.SendAsync(HttpMethod.Get, "v1/accounts", admin: true, cancellationToken: ct)).EnumerateArray())
                await output.WriteLineAsync($"{account.GetProperty("account_id"),6}  {account.GetProperty("name").GetString()}  created {account.GetProperty("created_at").GetDateTimeOffset():u}");
        });

        // keys
        var keys = new Command("keys", "API keys of the account (master, write, lookup)");
        root.Subcommands.Add(keys);
        var kind = new Option<string>("--kind") { Description = "master, write or lookup", Required = true };
        kind.AcceptOnlyFromAmong("master", "write", "lookup");
        var label = new Option<string?>("--label") { Description = "What the key is for" };
        var lookupFields = new Option<string?>("--fields") { Description = "Lookup keys: the lookup fields it may see, comma separated (default: all)" };
        var quota = new Option<long?>("--quota") { Description = "Lookup keys: records it may look up per period (default: no quota)" };
        var period = new Option<string?>("--period") { Description = "The quota's period: day or month (default month)" };
        period.AcceptOnlyFromAmong("day", "month");
        var bulkLimit = new Option<int?>("--bulk-limit") { Description = "Most records per bulk lookup (default 10000)" };
        object? Grant(ParseResult p) => p.GetValue(lookupFields) is null && p.GetValue(quota) is null && p.GetValue(period) is null && p.GetValue(bulkLimit) is null ? null : new
        {
            fields = p.GetValue(lookupFields)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            quota = p.GetValue(quota),
            period = p.GetValue(period),
            bulk_limit = p.GetValue(bulkLimit),
        };
        Add(keys, new Command("create", "Create a key (shown once)") { kind, label, lookupFields, quota, period, bulkLimit }, async (p, c, ct) =>
        {
            var created = await c.SendAsync(HttpMethod.Post, "v1/keys", AdminClient.Json(new { kind = p.GetValue(kind), label = p.GetValue(label) ?? "", lookup = Grant(p) }), cancellationToken: ct);
            await output.WriteLineAsync($"{created.GetProperty("kind").GetString()} key {created.GetProperty("id")}: {created.GetProperty("key").GetString()}   (shown once: store it now)");
        });
        var keyId = new Argument<long>("id") { Description = "The key's id (from `tailor keys list`)" };
        Add(keys, new Command("grant", "Set what a lookup or master key may do with the lookup API") { keyId, lookupFields, quota, period, bulkLimit }, async (p, c, ct) =>
        {
            await c.SendAsync(HttpMethod.Put, $"v1/keys/{p.GetValue(keyId)}/lookup", AdminClient.Json(Grant(p) ?? new { }), cancellationToken: ct);
            await output.WriteLineAsync($"key {p.GetValue(keyId)}: lookup entitlements set");
        });
        Add(keys, new Command("list", "List keys (never their secrets)"), (_, c, ct) => PrintList(c, "v1/keys",
            k => $"{k.GetProperty("id"),6}  {k.GetProperty("kind").GetString(),-6}  {k.GetProperty("label").GetString()}", ct));
        AddRevoke(keys, "key", "id", "The key's id (from `tailor keys list`)", "v1/keys");

        // tokens
        var tokens = new Command("tokens", "Tokens of personalization services (the WP13n-Token header)");
        root.Subcommands.Add(tokens);
        var service = new Option<string>("--service") { Description = "The service, as named in the configuration", Required = true };
        var tokenName = new Option<string>("--name") { Description = "The token, as named under the service's tokens", Required = true };
        Add(tokens, new Command("create", "Create a token (shown once)") { service, tokenName }, async (p, c, ct) =>
        {
            var created = await c.SendAsync(HttpMethod.Post, "v1/tokens", AdminClient.Json(new { service = p.GetValue(service), name = p.GetValue(tokenName) }), cancellationToken: ct);
            await output.WriteLineAsync($"token {created.GetProperty("instance_id")} for {created.GetProperty("service").GetString()}/{created.GetProperty("name").GetString()}: {created.GetProperty("token").GetString()}   (shown once: store it now)");
        });
        Add(tokens, new Command("list", "List tokens (never their secrets)"), (_, c, ct) => PrintList(c, "v1/tokens",
            t => $"{t.GetProperty("instance_id"),6}  {t.GetProperty("service").GetString()}/{t.GetProperty("name").GetString()}", ct));
        AddRevoke(tokens, "token", "instance-id", "The token's instance id (from `tailor tokens list`)", "v1/tokens");

        // apply / config
        var file = new Argument<FileInfo>("file") { Description = "The configuration (YAML, or JSON when it ends in .json)" };
        Add(root, new Command("apply", "Validate a configuration and make it the account's current one (atomically)") { file }, async (p, c, ct) =>
        {
            var path = p.GetValue(file)!;
            if (!path.Exists) throw new CliException($"{path.FullName} does not exist");
            var text = await File.ReadAllTextAsync(path.FullName, ct);
            var mediaType = path.Extension.Equals(".json", StringComparison.OrdinalIgnoreCase) ? "application/json" : "application/yaml";
            try
            {
                var applied = await c.SendAsync(HttpMethod.Put, $"v1/config?file={Uri.EscapeDataString(path.Name)}", AdminClient.Text(text, mediaType), cancellationToken: ct);
                await output.WriteLineAsync($"{path.Name} applied as version {applied.GetProperty("version")}");
            }
            catch (CliException ex) when (ex.Body is { } body && body.Contains("\"errors\"", StringComparison.Ordinal))
            {
                var errors = JsonDocument.Parse(body).RootElement.GetProperty("errors");
                foreach (var e in errors.EnumerateArray()) await error.WriteLineAsync(e.GetProperty("text").GetString());
                throw new CliException($"{path.Name} has {errors.GetArrayLength()} error(s); nothing was changed");
            }
        });
        var config = new Command("config", "Read the account's configuration");
        root.Subcommands.Add(config);
        var version = new Option<int?>("--version") { Description = "A version (default: the current one)" };
        Add(config, new Command("get", "Print a configuration version") { version }, async (p, c, ct) =>
            await output.WriteAsync(await c.GetTextAsync(p.GetValue(version) is { } v ? $"v1/config?version={v}" : "v1/config", ct)));
        Add(config, new Command("versions", "List the configuration versions"), async (_, c, ct) =>
        {
            foreach (var v in (await c.SendAsync(HttpMethod.Get, "v1/config/versions", cancellationToken: ct)).EnumerateArray())
                await output.WriteLineAsync($"v{v.GetProperty("version")}  {v.GetProperty("format").GetString()}  {v.GetProperty("created_at").GetDateTimeOffset():u}{(v.GetProperty("current").GetBoolean() ? "  (current)" : "")}");
        });

        // backup
        var backupDirectory = new Argument<string>("directory") { Description = "An empty directory on the server's machine (absolute path)" };
        AddWithExitCode(root, new Command("backup", "Copy the server's data, as of one moment, while it runs (server administrator)") { backupDirectory }, async (p, c, ct) =>
        {
            var backup = await c.SendAsync(HttpMethod.Post, "v1/backup", AdminClient.Json(new { directory = p.GetValue(backupDirectory) }), admin: true, ct);
            foreach (var file in backup.GetProperty("files").EnumerateArray()) await output.WriteLineAsync(file.GetString());
            await output.WriteLineAsync($"backed up {backup.GetProperty("bytes").GetInt64():N0} bytes; to restore, start a server on that directory");
            return 0;
        }, longRunning: true);

        // events
        var events = new Command("events", "The event log");
        root.Subcommands.Add(events);
        var database = new Option<string>("--database") { Description = "Database", Required = true };
        var table = new Option<string>("--table") { Description = "Table", Required = true };
        var after = new Option<long>("--after") { Description = "Start after this sequence number", DefaultValueFactory = _ => 0 };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep waiting for new events" };
        var limit = new Option<int>("--limit") { Description = "Most events per request", DefaultValueFactory = _ => 1000 };
        Add(events, new Command("tail", "Print events as JSON lines (seq, uuid, time, profile_id, event)") { database, table, after, follow, limit }, async (p, c, ct) =>
        {
            var position = p.GetValue(after);
            while (!ct.IsCancellationRequested)
            {
                var page = await c.SendAsync(HttpMethod.Get,
                    $"v1/databases/{Uri.EscapeDataString(p.GetValue(database)!)}/tables/{Uri.EscapeDataString(p.GetValue(table)!)}/events?after={position.ToString(CultureInfo.InvariantCulture)}&limit={p.GetValue(limit)}", cancellationToken: ct);
                foreach (var e in page.GetProperty("events").EnumerateArray()) await output.WriteLineAsync(e.GetRawText());
                var next = page.GetProperty("next_after").GetInt64();
                if (next == position)
                {
                    if (!p.GetValue(follow)) break;
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                }
                position = next;
            }
        });

        // profile (privacy)
        var profile = new Command("profile", "One customer's profile: export everything held about them, or erase them");
        root.Subcommands.Add(profile);
        var profileAudience = new Option<string>("--audience") { Description = "The audience", Required = true };
        var profileEmail = new Option<string?>("--email") { Description = "The customer's email (the `email` stitching key)" };
        var profileKey = new Option<string?>("--id-key") { Description = "Another stitching key (with --value)" };
        var profileValue = new Option<string?>("--value") { Description = "The stitching key's value" };
        string ProfileQuery(ParseResult p)
        {
            if (p.GetValue(profileEmail) is { } email) return $"email={Uri.EscapeDataString(email)}";
            if (p.GetValue(profileKey) is { } k && p.GetValue(profileValue) is { } v) return $"key={Uri.EscapeDataString(k)}&value={Uri.EscapeDataString(v)}";
            throw new CliException("give the customer as --email ADDRESS, or --id-key KEY --value VALUE");
        }
        Add(profile, new Command("export", "Print everything held about a customer as JSON: profile, lookup answer, events") { profileAudience, profileEmail, profileKey, profileValue }, async (p, c, ct) =>
            await output.WriteLineAsync(await c.GetTextAsync($"v1/audiences/{Uri.EscapeDataString(p.GetValue(profileAudience)!)}/profiles/export?{ProfileQuery(p)}", ct)));
        Add(profile, new Command("delete", "Erase a customer: profile, identifiers, events, lookup entries (cannot be undone)") { profileAudience, profileEmail, profileKey, profileValue }, async (p, c, ct) =>
        {
            var erased = await c.SendAsync(HttpMethod.Delete, $"v1/audiences/{Uri.EscapeDataString(p.GetValue(profileAudience)!)}/profiles?{ProfileQuery(p)}", cancellationToken: ct);
            await output.WriteLineAsync($"profile {erased.GetProperty("profile_id").GetString()} erased: {erased.GetProperty("identifiers")} identifiers, {erased.GetProperty("events")} events");
        });

        // audit
        var auditAfter = new Option<long>("--after") { Description = "Start after this entry id", DefaultValueFactory = _ => 0 };
        Add(root, new Command("audit", "Print the account's audit log: who changed what, when") { auditAfter }, async (p, c, ct) =>
        {
            var position = p.GetValue(auditAfter);
            while (true)
            {
                var page = await c.SendAsync(HttpMethod.Get, $"v1/audit?after={position.ToString(CultureInfo.InvariantCulture)}&limit=1000", cancellationToken: ct);
                foreach (var e in page.GetProperty("entries").EnumerateArray())
                    await output.WriteLineAsync($"{e.GetProperty("id"),6}  {e.GetProperty("at").GetDateTimeOffset():u}  {e.GetProperty("actor").GetString()}  {e.GetProperty("action").GetString()}  {e.GetProperty("detail").GetString()}");
                var next = page.GetProperty("next_after").GetInt64();
                if (next == position) break;
                position = next;
            }
        });

        // import
        var importFile = new Argument<FileInfo>("file") { Description = "CSV (with a header row), NDJSON or Parquet" };
        var audience = new Option<string>("--audience") { Description = "The audience whose profiles the rows are", Required = true };
        var maps = new Option<string[]>("--map") { Description = "Rename a column: column=attribute (repeatable)", AllowMultipleArgumentsPerToken = false, DefaultValueFactory = _ => [] };
        var format = new Option<string?>("--format") { Description = "csv, ndjson or parquet (default: from the file's extension)" };
        format.AcceptOnlyFromAmong("csv", "ndjson", "parquet");
        AddWithExitCode(root, new Command("import", "Import profiles (batch attributes, batch segments, identifiers) from a file") { importFile, audience, maps, format },
            (p, c, ct) => ImportCommand.RunAsync(c, p.GetValue(importFile)!, p.GetValue(audience)!, p.GetValue(maps) ?? [], p.GetValue(format), output, ct), longRunning: true);

        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }
}
