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
        var path = Path.Combine(Directory.CreateTempSubdirectory("tailor-cli-").FullName, name);
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
}
