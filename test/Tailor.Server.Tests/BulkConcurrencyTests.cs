using System.Net;
using System.Text.Json;

namespace Tailor.Server.Tests;

/// <summary>
/// One bulk lookup at a time per account: the next waits in order, a client that leaves leaves the
/// queue, other accounts and single lookups go on. Against the real server process: request bodies
/// arrive over a socket as slowly as the client sends them.
/// </summary>
public sealed class BulkConcurrencyTests : IAsyncLifetime
{
    private ServerProcess _server = null!;

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync(TestDirectories.New("tailor-bulk-"));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<TestAccount> CreateAccountAsync() => TestAccount.CreateAsync(_server.Client, _server.AdminKey);

    /// <summary>A body sent in two parts: the second only when the test says so (a slow client, a long request).</summary>
    private sealed class HeldContent(string first, string rest) : HttpContent
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(first));
            await stream.FlushAsync();
            await _release.Task;
            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(rest));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private static async Task<(bool Running, long Waiting)> Bulk(TestAccount account)
    {
        var status = await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/lookup/status", account.MasterKey));
        var bulk = status.GetProperty("bulk");
        return (bulk.GetProperty("running").GetBoolean(), bulk.GetProperty("waiting").GetInt64());
    }

    private static async Task Until(TestAccount account, Func<(bool Running, long Waiting), bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition(await Bulk(account))) await Task.Delay(10, timeout.Token);
    }

    [Fact]
    public async Task A_second_bulk_call_of_an_account_waits_for_the_first_while_other_accounts_and_single_lookups_do_not()
    {
        var a = await CreateAccountAsync();
        var b = await CreateAccountAsync();
        await a.Import("""{"email":"kim@example.com","age":"18-20"}""" + "\n");

        var held = new HeldContent("""[{"email":"kim@example.com"}""", "]");
        var first = a.Bulk(held);
        await Until(a, s => s.Running);
        var second = a.Bulk("""[{"email":"kim@example.com"},{"email":"x@example.com"}]""");
        await Until(a, s => s.Waiting == 1);

        // Another account, and single lookups of the same account, are not held up.
        Assert.Equal(HttpStatusCode.OK, (await b.Bulk("""[{"email":"kim@example.com"}]""")).StatusCode);
        Assert.Equal("""{"age":"18-20"}""", await (await a.Lookup("email=kim@example.com")).Content.ReadAsStringAsync());
        Assert.False(second.IsCompleted, "the second bulk call ran while the first was still running");
        Assert.Equal((true, 1L), await Bulk(a));

        held.Release();
        Assert.Equal("""[{"age":"18-20"}]""", await (await first).Content.ReadAsStringAsync());
        Assert.Equal("""[{"age":"18-20"},{}]""", await (await second).Content.ReadAsStringAsync());
        Assert.Equal((false, 0L), await Bulk(a));
    }

    [Fact]
    public async Task Waiting_calls_run_first_come_first_served_and_a_client_that_disconnects_leaves_the_queue()
    {
        var a = await CreateAccountAsync();
        var held = new HeldContent("[", "]");
        var first = a.Bulk(held);
        await Until(a, s => s.Running);

        using var leaving = new CancellationTokenSource();
        var gone = a.Bulk("[{}]", cancellationToken: leaving.Token);
        await Until(a, s => s.Waiting == 1);
        // Three more wait, each with a body it only finishes when told: whichever is let in first holds the gate.
        var bodies = new List<HeldContent>();
        var waiting = new List<Task<HttpResponseMessage>>();
        for (var i = 0; i < 3; i++)
        {
            bodies.Add(new HeldContent("[", string.Join(",", Enumerable.Repeat("{}", i + 1)) + "]"));
            waiting.Add(a.Bulk(bodies[i]));
            var expected = i + 2;
            await Until(a, s => s.Waiting == expected);
        }

        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone);
        await Until(a, s => s.Waiting == 3);

        held.Release();
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        // First come, first served: finishing the body of the oldest waiting call completes it, each in turn.
        for (var i = 0; i < 3; i++)
        {
            var left = 2 - i;
            await Until(a, s => s.Running && s.Waiting == left);
            bodies[i].Release();
            var answer = await waiting[i].WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(i + 1, JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
        }
        Assert.Equal((false, 0L), await Bulk(a));
    }
}
