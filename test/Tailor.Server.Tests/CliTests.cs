using System.Text.Json;
using Tailor.Cli;

namespace Tailor.Server.Tests;

/// <summary>The `tailor` command against a running server: what an operator types and reads.</summary>
public sealed class CliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private async Task<(int Exit, string Output, string Error)> Tailor(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await TailorCli.RunAsync([.. args, "--url", "http://localhost"], output, error, fixture.Server.Server.CreateHandler());
        return (exit, output.ToString(), error.ToString());
    }

    private static string TempFile(string name, string text)
    {
        var path = Path.Combine(TestDirectories.New("tailor-cli-"), name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Accounts_are_created_with_the_administrators_key_from_the_data_directory()
    {
        var (exit, output, error) = await Tailor("accounts", "create", "shop", "--data", fixture.Server.DataDirectory);
        Assert.True(exit == 0, error);
        Assert.Matches(@"master key: \d+/[0-9a-f]{40}", output);
        var (_, listed, _) = await Tailor("accounts", "list", "--admin-key", fixture.Server.AdminKey);
        Assert.Contains("shop", listed, StringComparison.Ordinal);
        var (denied, _, deniedError) = await Tailor("accounts", "list", "--admin-key", "admin/nope");
        Assert.Equal(1, denied);
        Assert.Contains("tailor: ", deniedError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_reports_every_validation_error_with_its_position_and_changes_nothing()
    {
        var account = await fixture.Server.CreateAccountAsync();
        var bad = TempFile("shop.yaml", "databases: [demo_db]\naudiences:\n  - name: a\n    stitching_keys: [k]\n    event_tables: [demo_db.pages]\n    atributes: []\nservices:\n  - { name: s, audience: b }\n");
        var (exit, _, error) = await Tailor("apply", bad, "--key", account.MasterKey);
        Assert.Equal(1, exit);
        Assert.Contains("shop.yaml:6:5: unknown key `atributes` in an audience (did you mean `attributes`?)", error, StringComparison.Ordinal);
        Assert.Contains("shop.yaml:8:26: unknown audience `b` (did you mean `a`?)", error, StringComparison.Ordinal);
        Assert.Contains("tailor: shop.yaml has 2 error(s); nothing was changed", error, StringComparison.Ordinal);

        var good = TempFile("demo.yaml", await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "demo.yaml")));
        var applied = await Tailor("apply", good, "--key", account.MasterKey);
        Assert.Equal((0, "demo.yaml applied as version 2\n"), (applied.Exit, applied.Output));
        var (_, versions, _) = await Tailor("config", "versions", "--key", account.MasterKey);
        Assert.Contains("v2  yaml", versions, StringComparison.Ordinal);
        Assert.Contains("(current)", versions, StringComparison.Ordinal);
        var (_, text, _) = await Tailor("config", "get", "--version", "1", "--key", account.MasterKey);
        Assert.StartsWith("# The demo's configuration", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_and_tokens_are_created_listed_and_revoked()
    {
        var account = await fixture.Server.CreateAccountAsync();
        var (exit, created, error) = await Tailor("keys", "create", "--kind", "write", "--label", "web shop", "--key", account.MasterKey);
        Assert.True(exit == 0, error);
        var match = System.Text.RegularExpressions.Regex.Match(created, @"write key (\d+): (\d+/[0-9a-f]{40})");
        Assert.True(match.Success, created);
        var (_, listed, _) = await Tailor("keys", "list", "--key", account.MasterKey);
        Assert.Contains("web shop", listed, StringComparison.Ordinal);
        Assert.DoesNotContain(match.Groups[2].Value, listed, StringComparison.Ordinal);
        Assert.Equal(0, (await Tailor("keys", "revoke", match.Groups[1].Value, "--key", account.MasterKey)).Exit);
        Assert.Contains("REVOKED", (await Tailor("keys", "list", "--key", account.MasterKey)).Output, StringComparison.Ordinal);

        var (tokenExit, token, tokenError) = await Tailor("tokens", "create", "--service", "web", "--name", "site", "--key", account.MasterKey);
        Assert.True(tokenExit == 0, tokenError);
        Assert.Matches($@"for web/site: {account.Id}/\d+/[0-9a-f]{{32}}", token);
        var (badExit, _, badError) = await Tailor("tokens", "create", "--service", "web", "--name", "nope", "--key", account.MasterKey);
        Assert.Equal(1, badExit);
        Assert.Contains("has no token named `nope`", badError, StringComparison.Ordinal);
        Assert.Equal(1, (await Tailor("keys", "create", "--kind", "root", "--key", account.MasterKey)).Exit);
    }

    [Fact]
    public async Task Events_tail_prints_the_log_as_json_lines()
    {
        var account = await fixture.Server.CreateAccountAsync();
        await account.PostEvent("""{"td_client_id":"tail-1","td_path":"/retail"}""");
        await account.PostEvent("""{"td_client_id":"tail-2","td_path":"/retail"}""");
        var (exit, output, error) = await Tailor("events", "tail", "--database", "demo_db", "--table", "pageviews", "--key", account.MasterKey);
        Assert.True(exit == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["tail-1", "tail-2"], lines.Select(l => l.GetProperty("event").GetProperty("td_client_id").GetString()));
    }

    [Fact]
    public async Task A_missing_key_is_explained_not_thrown()
    {
        var (exit, _, error) = await Tailor("keys", "list");
        Assert.Equal(1, exit);
        Assert.Contains("needs the account's master key", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_reads_csv_and_reports_rejected_rows_with_their_file_lines()
    {
        var account = await fixture.Server.CreateAccountAsync();
        var csv = TempFile("people.csv", string.Join("\n",
            "email,first,last,zip,age,interests,tier,batch_segments",
            "mo@example.com,Mo,Diaz,60601,25-34,\"{\"\"travel\"\":true}\",high,1588214",
            "bad\"quote@example.com,Mo,Diaz,60601,25-34,,high,",
            ",,,,35-44,,,",
            "nell@example.com,Nell,Park,\"60602\",18-20,,low,",
            "too,many,cells,1,2,3,4,5,6") + "\n");
        var (exit, output, error) = await Tailor("import", csv, "--audience", "shoppers", "--map", "tier=loyalty", "--key", account.MasterKey);
        Assert.True(exit == 2, error + output);
        Assert.True(output.Contains("2 created, 0 updated, 3 rejected", StringComparison.Ordinal), output);
        Assert.Contains("line 4: no identifier", output, StringComparison.Ordinal);
        Assert.Contains("line 6: 9 cells; the header has 8", output, StringComparison.Ordinal);
        Assert.Contains("line 3: malformed CSV", output, StringComparison.Ordinal);
        Assert.Equal("""{"age":"25-34","loyalty":"high","interests":{"travel":true}}""", await (await account.Lookup("email=mo@example.com")).Content.ReadAsStringAsync());
        Assert.Equal("""{"age":"18-20","loyalty":"low"}""", await (await account.Lookup("first=nell&last=park&zip=60602")).Content.ReadAsStringAsync());

        // The same file again: nothing new, nothing changed.
        var (_, again, _) = await Tailor("import", csv, "--audience", "shoppers", "--map", "tier=loyalty", "--key", account.MasterKey);
        Assert.Contains("0 created, 2 updated, 3 rejected", again, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_reads_ndjson_and_parquet()
    {
        var account = await fixture.Server.CreateAccountAsync();
        var ndjson = TempFile("people.ndjson", """
            {"email":"ola@example.com","age":"45-54"}

            {"email":"pat@example.com","gender":"Male","spent":12}
            {"email":
            """ + "\n");
        var (exit, output, _) = await Tailor("import", ndjson, "--audience", "shoppers", "--key", account.MasterKey);
        Assert.Equal(2, exit);
        Assert.Contains("2 created, 0 updated, 1 rejected", output, StringComparison.Ordinal);
        Assert.Contains("line 4: not valid JSON", output, StringComparison.Ordinal);

        var parquet = Path.Combine(TestDirectories.New("tailor-cli-"), "people.parquet");
        var rows = new List<IDictionary<string, object?>>
        {
            new Dictionary<string, object?> { ["email"] = "quinn@example.com", ["age"] = "65+", ["spent"] = 40.5, ["batch_segments"] = "1588214" },
            new Dictionary<string, object?> { ["email"] = "ray@example.com", ["age"] = "21-24", ["spent"] = 3.0, ["batch_segments"] = "" },
        };
        var schema = new Parquet.Schema.ParquetSchema(
            new Parquet.Schema.DataField<string>("email"), new Parquet.Schema.DataField<string>("age"),
            new Parquet.Schema.DataField<double>("spent"), new Parquet.Schema.DataField<string>("batch_segments"));
        await using (var stream = File.Create(parquet)) await Parquet.Serialization.ParquetSerializer.SerializeUntypedAsync(rows, schema, stream);
        var (parquetExit, parquetOutput, parquetError) = await Tailor("import", parquet, "--audience", "shoppers", "--key", account.MasterKey);
        Assert.True(parquetExit == 0, parquetError + parquetOutput);
        Assert.Contains("2 created, 0 updated, 0 rejected", parquetOutput, StringComparison.Ordinal);
        var quinn = await account.Profile("email", "quinn@example.com");
        Assert.Equal(40.5, quinn.GetProperty("attributes").GetProperty("spent").GetDouble());
        Assert.Equal(["1588214"], quinn.GetProperty("batch_segments").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task Lookup_keys_are_created_with_their_entitlements()
    {
        var account = await fixture.Server.CreateAccountAsync();
        await account.Import("""{"email":"sal@example.com","age":"35-44","gender":"Female"}""" + "\n");
        var (exit, output, error) = await Tailor("keys", "create", "--kind", "lookup", "--fields", "age", "--quota", "1", "--period", "day", "--key", account.MasterKey);
        Assert.True(exit == 0, error);
        var key = System.Text.RegularExpressions.Regex.Match(output, @"\d+/[0-9a-f]{40}").Value;
        Assert.Equal("""{"age":"35-44"}""", await (await account.Lookup("email=sal@example.com", key)).Content.ReadAsStringAsync());
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await account.Lookup("email=sal@example.com", key)).StatusCode);
        var id = output.Split(' ')[2].TrimEnd(':');
        Assert.Equal(0, (await Tailor("keys", "grant", id, "--fields", "age,gender", "--key", account.MasterKey)).Exit);
        Assert.Equal("""{"age":"35-44","gender":"Female"}""", await (await account.Lookup("email=sal@example.com", key)).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_customer_is_exported_and_erased_from_the_command_line()
    {
        var account = await fixture.Server.CreateAccountAsync();
        await account.Import("""{"email":"una@example.com","age":"45-54"}""" + "\n");
        var (exit, output, error) = await Tailor("profile", "export", "--audience", "shoppers", "--email", "una@example.com", "--key", account.MasterKey);
        Assert.True(exit == 0, error);
        Assert.Equal("45-54", JsonDocument.Parse(output).RootElement.GetProperty("profile").GetProperty("attributes").GetProperty("age").GetString());
        var (deleted, deleteOutput, _) = await Tailor("profile", "delete", "--audience", "shoppers", "--email", "una@example.com", "--key", account.MasterKey);
        Assert.Equal(0, deleted);
        Assert.Matches(@"^profile [0-9a-f-]{36} erased: 1 identifiers, 0 events", deleteOutput);
        var (again, _, againError) = await Tailor("profile", "export", "--audience", "shoppers", "--email", "una@example.com", "--key", account.MasterKey);
        Assert.Equal(1, again);
        Assert.Contains("No profile has this identifier", againError, StringComparison.Ordinal);
        var (_, audit, _) = await Tailor("audit", "--key", account.MasterKey);
        Assert.Contains("profile.erase", audit, StringComparison.Ordinal);
    }
}
