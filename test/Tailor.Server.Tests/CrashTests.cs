using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Tailor.Server.Tests;

/// <summary>
/// The crash-safety campaign: a real server under concurrent event load (client uuids) is killed with
/// SIGKILL five times, each time with something else in flight (a configuration apply, a profile
/// import, bulk lookups), and restarted on the same data directory. Afterwards every acknowledged event
/// is in the log exactly once, every profile agrees with its log, the configuration is the last one
/// applied, and the interrupted import left whole profiles and finishes when run again.
/// The counts go to crash-report.txt (printed by .ci/run).
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed class CrashTests
{
    private const int Kills = 5;
    private const int ImportRows = 20_000;

    /// <summary>An import body produced as it is sent, counting rows, so the test can kill mid-upload.</summary>
    private sealed class ImportContent(int rows) : HttpContent
    {
        public int Sent;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var i = 0; i < rows; i++)
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(Row(i) + "\n"));
                Interlocked.Increment(ref Sent);
                // Paced like a slow uploader, so that the kill lands in the middle of the import.
                if (i % 250 == 0)
                {
                    await stream.FlushAsync();
                    await Task.Delay(40);
                }
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private static string Row(int i) => $$"""{"email":"imp{{i}}@example.com","first":"f{{i}}","last":"l{{i}}","zip":"{{10000 + i % 90000:D5}}","age":"a{{i % 7}}","gender":"g{{i % 2}}","loyalty":"l{{i % 3}}"}""";

    private static string Config(int version) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "demo.yaml")) + $"\n# applied as step {version}\n";

    [Fact]
    public async Task Five_kills_during_events_config_applies_an_import_and_bulk_lookups_lose_nothing_acknowledged()
    {
        var directory = TestDirectories.New("tailor-crash5-");
        var acknowledged = new ConcurrentBag<string>();
        var appliedSteps = new ConcurrentBag<int>();
        TestAccount account;
        await using (var first = await ServerProcess.StartAsync(directory))
            account = await TestAccount.CreateAsync(first.Client, first.AdminKey);
        var importRowsSentAtKill = 0;
        var bulkCalls = 0;
        var step = 0;

        for (var round = 0; round < Kills; round++)
        {
            await using var server = await ServerProcess.StartAsync(directory);
            var client = new TestAccount(server.Client, account.Id, account.MasterKey) { WriteKey = account.WriteKey, Token = account.Token, LookupKey = account.LookupKey };
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 12).Select(worker => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested && i < 10_000; i++)
                {
                    var uuid = $"r{round}-w{worker}-{i}";
                    try
                    {
                        var response = await client.PostEvent($$"""{"td_client_id":"c{{(worker * 7 + i) % 25}}","td_path":"/retail","product_name":"p{{i % 9}}","uuid":"{{uuid}}"}""");
                        if (response.StatusCode == HttpStatusCode.OK) acknowledged.Add(uuid);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                    {
                        return; // the server is gone
                    }
                }
            })).ToList();

            // What else is in flight when the kill comes.
            ImportContent? import = null;
            Task? side = null;
            switch (round)
            {
                case 1 or 4:
                    side = Task.Run(async () =>
                    {
                        while (!stop.IsCancellationRequested)
                        {
                            var next = Interlocked.Increment(ref step);
                            try
                            {
                                var response = await client.Send(HttpMethod.Put, "/v1/config?file=demo.yaml", account.MasterKey, new StringContent(Config(next), Encoding.UTF8, "application/yaml"));
                                if (response.StatusCode == HttpStatusCode.OK) appliedSteps.Add(next);
                            }
                            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                            {
                                return;
                            }
                        }
                    });
                    break;
                case 2:
                    import = new ImportContent(ImportRows);
                    side = Task.Run(async () =>
                    {
                        try
                        {
                            await client.Send(HttpMethod.Post, "/v1/audiences/shoppers/import", account.MasterKey, import);
                        }
                        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                        {
                        }
                    });
                    break;
                case 3:
                    side = Task.Run(async () =>
                    {
                        var body = "[" + string.Join(",", Enumerable.Range(0, 2000).Select(i => $$"""{"email":"imp{{i * 10}}@example.com"}""")) + "]";
                        while (!stop.IsCancellationRequested)
                        {
                            try
                            {
                                await client.Bulk(body);
                                Interlocked.Increment(ref bulkCalls);
                            }
                            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                            {
                                return;
                            }
                        }
                    });
                    break;
            }

            var deadline = DateTime.UtcNow.AddSeconds(60);
            bool Ready() => acknowledged.Count(u => u.StartsWith($"r{round}-", StringComparison.Ordinal)) >= (round == 2 ? 50 : 200)
                && (round != 2 || Volatile.Read(ref import!.Sent) >= ImportRows / 3)
                && (round is not (1 or 4) || !appliedSteps.IsEmpty);
            while (!Ready() && DateTime.UtcNow < deadline) await Task.Delay(10);
            if (import is not null) importRowsSentAtKill = Volatile.Read(ref import.Sent);
            server.Kill();
            await stop.CancelAsync();
            await Task.WhenAll(workers);
            if (side is not null) await side;
        }

        await using var last = await ServerProcess.StartAsync(directory);
        var reader = new TestAccount(last.Client, account.Id, account.MasterKey) { LookupKey = account.LookupKey };

        // Events: every acknowledged one logged exactly once, and each profile agrees with its log.
        var logged = await reader.AllEvents();
        var uuids = logged.Select(e => e.GetProperty("uuid").GetString()!).ToList();
        Assert.True(acknowledged.Count >= Kills * 150, $"only {acknowledged.Count} events were acknowledged");
        Assert.Equal(uuids.Count, uuids.Distinct().Count());
        Assert.Empty(acknowledged.Except(uuids));
        foreach (var group in logged.GroupBy(e => e.GetProperty("event").GetProperty("td_client_id").GetString()!))
        {
            var profile = await reader.Profile("td_client_id", group.Key);
            Assert.Equal(group.Count(), profile.GetProperty("events").GetInt32());
            Assert.Equal(group.Count(), profile.GetProperty("attributes").GetProperty("views.7d").GetInt32());
        }

        // Configuration: the last acknowledged apply, or the one in flight after it, never an older one.
        var config = await reader.Send(HttpMethod.Get, "/v1/config", account.MasterKey);
        var text = await config.Content.ReadAsStringAsync();

        // Every profile equals the profile recomputed from the log: replay the logged events, in log
        // order, through the engine alone and compare what each profile holds.
        var compiled = Tailor.Core.Configuration.ConfigLoader.LoadOrThrow(text);
        var replay = new Tailor.Core.Evaluation.LocalPersonalizer(compiled, TimeProvider.System);
        foreach (var e in logged)
        {
            Assert.True(Tailor.Core.Events.EventParser.TryParse(Encoding.UTF8.GetBytes(e.GetProperty("event").GetRawText()), out var data, out var parseError), parseError);
            replay.Personalize("web", "demo_db", "pageviews", data!);
        }
        var audience = compiled.Audiences["shoppers"];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var recomputed = 0;
        foreach (var clientId in logged.Select(e => e.GetProperty("event").GetProperty("td_client_id").GetString()!).Distinct())
        {
            var expected = replay.Find("shoppers", new Tailor.Core.Profiles.Identifier("td_client_id", clientId))!;
            var attributes = (await reader.Profile("td_client_id", clientId)).GetProperty("attributes");
            Assert.Equal(audience.ReadAttribute(expected, "views.7d", now).Number, attributes.GetProperty("views.7d").GetDouble());
            Assert.Equal(audience.ReadAttribute(expected, "last_product", now).String, attributes.GetProperty("last_product").GetString());
            Assert.Equal(audience.ReadList(expected, "browsed", now).Select(v => v.String), attributes.GetProperty("browsed").EnumerateArray().Select(v => v.GetString()!));
            Assert.Equal(expected.EventCount, (await reader.Profile("td_client_id", clientId)).GetProperty("events").GetInt64());
            recomputed++;
        }
        var current = int.Parse(text[(text.LastIndexOf("step ", StringComparison.Ordinal) + 5)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(current, appliedSteps.Max(), appliedSteps.Max() + 1);

        // The interrupted import: what landed is whole profiles; running it again completes it.
        var landed = 0;
        for (var i = 0; i < ImportRows; i += 97)
        {
            var response = await reader.Send(HttpMethod.Get, $"/v1/audiences/shoppers/profiles?key=email&value=imp{i}@example.com", account.MasterKey);
            if (response.StatusCode == HttpStatusCode.NotFound) continue;
            landed++;
            var attributes = (await TailorServerFactory.Json(response)).GetProperty("attributes");
            Assert.Equal($"a{i % 7}", attributes.GetProperty("age").GetString());
            Assert.Equal($"l{i % 3}", attributes.GetProperty("loyalty").GetString());
        }
        var again = await reader.Import(string.Concat(Enumerable.Range(0, ImportRows).Select(i => Row(i) + "\n")));
        Assert.Equal(ImportRows, again.GetProperty("created").GetInt32() + again.GetProperty("updated").GetInt32());
        Assert.Equal(0, again.GetProperty("rejected").GetInt32());
        var check = "[" + string.Join(",", Enumerable.Range(0, 50).Select(i => $$"""{"first":"f{{i * 397}}","last":"l{{i * 397}}","zip":"{{10000 + i * 397 % 90000:D5}}"}""")) + "]";
        var answers = JsonDocument.Parse(await (await reader.Bulk(check)).Content.ReadAsStringAsync()).RootElement;
        Assert.All(answers.EnumerateArray(), a => Assert.True(a.TryGetProperty("age", out _), a.GetRawText()));

        var report = $"crash campaign: {Kills} SIGKILLs (events; config applies; an import at {importRowsSentAtKill:N0} of {ImportRows:N0} rows sent; {bulkCalls} bulk lookups; all at once), "
            + $"events acknowledged {acknowledged.Count:N0}, found in the log {uuids.Count:N0} (each once), {recomputed} profiles equal to their log replayed, config steps acknowledged {appliedSteps.Count} (in force: step {current}), "
            + $"imported profiles found whole after the kill {landed} of {ImportRows / 97 + 1} sampled, import re-run: {again.GetProperty("created").GetInt32():N0} created + {again.GetProperty("updated").GetInt32():N0} updated";
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "crash-report.txt"), report + "\n");
    }

    [Fact]
    public async Task An_erasure_holds_after_a_kill_while_the_customers_changes_were_still_pending()
    {
        var directory = TestDirectories.New("tailor-erase-kill-");
        TestAccount account;
        await using (var server = await ServerProcess.StartAsync(directory))
        {
            account = await TestAccount.CreateAsync(server.Client, server.AdminKey);
            // Within the store's write-behind window (30 s): every change below is still pending at the kill.
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await account.PostEvent($$"""{"td_client_id":"zoe-phone","email":"zoe@example.com","td_path":"/retail","product_name":"p{{i}}"}""")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await account.PostEvent($$"""{"td_client_id":"sam-phone","td_path":"/retail","product_name":"p{{i}}"}""")).StatusCode);
            }
            var erased = await TailorServerFactory.Json(await account.Send(HttpMethod.Delete, "/v1/audiences/shoppers/profiles?email=zoe@example.com", account.MasterKey));
            Assert.Equal(3, erased.GetProperty("events").GetInt32());
            server.Kill();
        }

        await using var restarted = await ServerProcess.StartAsync(directory);
        var again = new TestAccount(restarted.Client, account.Id, account.MasterKey) { WriteKey = account.WriteKey, Token = account.Token };
        foreach (var query in new[] { "email=zoe@example.com", "key=td_client_id&value=zoe-phone" })
            Assert.Equal(HttpStatusCode.NotFound, (await again.Send(HttpMethod.Get, $"/v1/audiences/shoppers/profiles?{query}", account.MasterKey)).StatusCode);
        var events = await again.AllEvents();
        Assert.Equal(3, events.Count);
        Assert.All(events, e => Assert.Equal("sam-phone", e.GetProperty("event").GetProperty("td_client_id").GetString()));
        Assert.Equal(3, (await again.Profile("td_client_id", "sam-phone")).GetProperty("events").GetInt32());
    }
}
