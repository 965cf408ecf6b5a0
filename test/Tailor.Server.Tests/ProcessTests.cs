using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Tailor.Server.Tests;

/// <summary>The real binary: the README's demo command, SIGKILL under load, real sockets.</summary>
[Collection(nameof(ProcessTests))]
public sealed class ProcessTests
{
    private static string NewDirectory(string name) => TestDirectories.New($"tailor-{name}-");

    [Fact]
    public async Task The_demo_command_writes_demo_json_and_its_curl_returns_an_offer()
    {
        var directory = NewDirectory("demo");
        await using (var server = await ServerProcess.StartAsync(directory, "--demo", "--Tailor:DemoProfiles=200"))
        {
            var path = Path.Combine(directory, "demo.json");
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            var demo = JsonDocument.Parse(await File.ReadAllTextAsync(path)).RootElement;
            foreach (var field in new[] { "url", "account_id", "master_key", "write_key", "lookup_key", "token", "public_token", "public_origin", "database", "table", "sample_emails" })
                Assert.True(demo.TryGetProperty(field, out _), $"demo.json lacks {field}");
            Assert.Equal(5, demo.GetProperty("sample_emails").GetArrayLength());
            Assert.Contains("curl -s -X POST", server.Output, StringComparison.Ordinal);

            var account = new TestAccount(server.Client, demo.GetProperty("account_id").GetInt64(), demo.GetProperty("master_key").GetString()!)
            {
                WriteKey = demo.GetProperty("write_key").GetString()!,
                Token = demo.GetProperty("token").GetString()!,
            };
            var email = demo.GetProperty("sample_emails")[0].GetString();
            var offers = await account.Offers(await account.PostEvent(
                $$"""{"td_client_id":"demo-visitor-1","email":"{{email}}","td_path":"/retail/shoes","product_category":"women","product_name":"boots"}"""));
            Assert.Equal("high", offers.GetProperty("offer_for_high_loyalty").GetProperty("attributes").GetProperty("status").GetString());
        }

        // A second start reuses the data (and says so).
        await using var again = await ServerProcess.StartAsync(directory, "--demo");
        Assert.Contains("reusing the data directory", again.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_address_in_use_ends_the_server_with_one_line_and_exit_code_1()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var info = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ServerProcess.ServerDll())!,
        };
        foreach (var arg in new[] { ServerProcess.ServerDll(), "--data", NewDirectory("port-in-use"), "--urls", $"http://127.0.0.1:{port}" }) info.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        var stderr = await errors;
        Assert.Contains($"tailor: Failed to bind to address http://127.0.0.1:{port}: address already in use.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr + await output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_and_tokens_revoked_while_a_keep_alive_connection_uses_them_are_refused_on_its_next_call()
    {
        // The personalization call reuses the verification of the key and token its connection sent
        // before; a revocation between two calls of one connection must still refuse the second.
        await using var server = await ServerProcess.StartAsync(NewDirectory("verified"));
        var admin = await TestAccount.CreateAsync(server.Client, server.AdminKey);
        var connections = 0;
        using var oneConnection = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        })
        { BaseAddress = server.Client.BaseAddress };
        var write = await admin.CreateKeyAsync("write");
        var site = new TestAccount(oneConnection, admin.Id, admin.MasterKey) { WriteKey = write.GetProperty("key").GetString()!, Token = admin.Token };
        const string Event = """{"td_client_id":"keep-alive-visitor","td_path":"/retail"}""";

        Assert.Equal(HttpStatusCode.OK, (await site.PostEvent(Event)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await site.PostEvent(Event)).StatusCode);
        var instance = admin.Token.Split('/')[1];
        Assert.Equal(HttpStatusCode.NoContent, (await admin.Send(HttpMethod.Delete, $"/v1/tokens/{instance}", admin.MasterKey)).StatusCode);
        var refused = await site.PostEvent(Event);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(3001, JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetInt32());

        site.Token = (await admin.CreateTokenAsync("web", "site")).GetProperty("token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await site.PostEvent(Event)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.Send(HttpMethod.Delete, $"/v1/keys/{write.GetProperty("id").GetInt64()}", admin.MasterKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await site.PostEvent(Event)).StatusCode);
        // Another key on the same connection is verified on its own.
        Assert.Equal(HttpStatusCode.Unauthorized, (await site.PostEvent(Event, key: site.WriteKey + "x")).StatusCode);
        Assert.Equal(1, connections);
    }

    [Fact]
    public async Task The_server_watches_no_files_so_that_store_writes_wake_nothing()
    {
        // A configuration reload watcher covers the content root recursively, and the default data
        // directory (./data) is inside it: every store write would wake it (a tenth of the server's time).
        if (!OperatingSystem.IsLinux()) return;
        await using var server = await ServerProcess.StartAsync(NewDirectory("watch"));
        var watchers = Directory.GetFiles($"/proc/{server.ProcessId}/fd").Count(fd => new FileInfo(fd).LinkTarget?.Contains("inotify", StringComparison.Ordinal) == true);
        Assert.Equal(0, watchers);
    }

    [Fact]
    public async Task Kill_9_under_load_loses_no_acknowledged_event_and_applies_each_exactly_once()
    {
        var directory = NewDirectory("crash");
        var acknowledged = new ConcurrentBag<string>();
        TestAccount account;
        await using (var first = await ServerProcess.StartAsync(directory))
            account = await TestAccount.CreateAsync(first.Client, first.AdminKey);

        for (var round = 0; round < 2; round++)
        {
            await using var server = await ServerProcess.StartAsync(directory);
            var client = new TestAccount(server.Client, account.Id, account.MasterKey) { WriteKey = account.WriteKey, Token = account.Token };
            using var stop = new CancellationTokenSource();
            var sent = 0;
            var workers = Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested && i < 10_000; i++)
                {
                    var uuid = $"r{round}-w{worker}-{i}";
                    var body = $$"""{"td_client_id":"c{{(worker * 7 + i) % 25}}","td_path":"/retail","product_name":"p{{i % 9}}","uuid":"{{uuid}}"}""";
                    Interlocked.Increment(ref sent);
                    try
                    {
                        var response = await client.PostEvent(body);
                        if (response.StatusCode == HttpStatusCode.OK) acknowledged.Add(uuid);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                    {
                        return; // the server is gone
                    }
                }
            })).ToArray();
            // Kill once a few hundred events of this round were acknowledged, mid-flight.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (acknowledged.Count(u => u.StartsWith($"r{round}-", StringComparison.Ordinal)) < 300 && DateTime.UtcNow < deadline) await Task.Delay(20);
            server.Kill();
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        await using var last = await ServerProcess.StartAsync(directory);
        var reader = new TestAccount(last.Client, account.Id, account.MasterKey);
        var logged = await reader.AllEvents();
        var uuids = logged.Select(e => e.GetProperty("uuid").GetString()!).ToList();
        Assert.True(acknowledged.Count >= 600, $"only {acknowledged.Count} events were acknowledged");
        Assert.Equal(uuids.Count, uuids.Distinct().Count());                   // no event logged twice
        Assert.Empty(acknowledged.Except(uuids));                                // every acknowledged event is in the log
        foreach (var group in logged.GroupBy(e => e.GetProperty("event").GetProperty("td_client_id").GetString()!))
        {
            var profile = await reader.Profile("td_client_id", group.Key);
            // Each logged event was applied exactly once: the profile's event count equals its log.
            Assert.Equal(group.Count(), profile.GetProperty("events").GetInt32());
            Assert.Equal(group.Count(), profile.GetProperty("attributes").GetProperty("views.7d").GetInt32());
        }
    }

    [Fact]
    public async Task A_call_beyond_the_services_concurrency_answers_429_2013_while_the_first_is_in_flight()
    {
        var directory = NewDirectory("concurrency");
        await using var server = await ServerProcess.StartAsync(directory);
        var yaml = (await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "demo.yaml")))
            .Replace("limits: { concurrent: 256 }", "limits: { concurrent: 1 }", StringComparison.Ordinal);
        var account = await TestAccount.CreateAsync(server.Client, server.AdminKey, yaml);
        account.Token = (await account.CreateTokenAsync("web", "site")).GetProperty("token").GetString()!;

        // The first call sends its headers and half its body, and so holds the service's only slot.
        // (Unless a call of ours still held the slot when it arrived: then it was refused itself; try again.)
        var body = Encoding.UTF8.GetBytes("""{"td_client_id":"slow","td_path":"/retail"}""");
        var head = $"POST /demo_db/pageviews HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {TestAccount.MediaType}\r\nAuthorization: TD1 {account.WriteKey}\r\n"
            + $"WP13n-Token: {account.Token}\r\nContent-Length: {body.Length}\r\n\r\n";
        TcpClient? socket = null;
        NetworkStream? stream = null;
        for (var setup = 0; setup < 10 && stream is null; setup++)
        {
            socket?.Dispose();
            socket = new TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, server.Port);
            var candidate = socket.GetStream();
            await candidate.WriteAsync(Encoding.ASCII.GetBytes(head));
            await candidate.WriteAsync(body.AsMemory(0, 10));
            await candidate.FlushAsync();
            await Task.Delay(300);
            if (socket.Available == 0) stream = candidate; // no answer yet: it is waiting for its body, slot in hand
        }
        Assert.NotNull(stream);
        using var held = socket!;

        HttpResponseMessage? refused = null;
        for (var attempt = 0; attempt < 100 && refused is null; attempt++)
        {
            var response = await account.PostEvent("""{"td_client_id":"fast"}""");
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refused = response;
            else await Task.Delay(50);
        }
        Assert.NotNull(refused);
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2013, error.GetProperty("code").GetInt32());
        Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        Assert.Equal("Concurrent Request Limit Exceeded", refused.ReasonPhrase);

        // The slow call completes normally once its body arrives.
        await stream.WriteAsync(body.AsMemory(10));
        var reply = new byte[4096];
        var read = await stream.ReadAsync(reply);
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(reply, 0, read), StringComparison.Ordinal);
    }
}

[CollectionDefinition(nameof(ProcessTests), DisableParallelization = true)]
public sealed class ProcessTestsCollection;

/// <summary>Malformed HTTP that only a real socket can send: never a 5xx.</summary>
[Collection(nameof(ProcessTests))]
public sealed class RawHttpTests
{
    private static async Task<string> Exchange(int port, string head, byte[] body, bool closeEarly)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        if (closeEarly) socket.Client.Shutdown(SocketShutdown.Send);
        var reply = new byte[4096];
        var read = await stream.ReadAsync(reply).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return Encoding.ASCII.GetString(reply, 0, read);
    }

    [Fact]
    public async Task Broken_bodies_on_the_wire_never_get_a_5xx()
    {
        var directory = TestDirectories.New("tailor-raw-");
        await using var server = await ServerProcess.StartAsync(directory);
        var account = await TestAccount.CreateAsync(server.Client, server.AdminKey);
        var headers = $"POST /demo_db/pageviews HTTP/1.1\r\nHost: x\r\nContent-Type: {TestAccount.MediaType}\r\nAuthorization: TD1 {account.WriteKey}\r\nWP13n-Token: {account.Token}\r\n";
        var body = Encoding.UTF8.GetBytes("""{"td_client_id":"short"}""");

        // A body shorter than its Content-Length, then the client stops sending: no answer, or a 4xx.
        var shortReply = await Exchange(server.Port, headers + $"Content-Length: {body.Length + 50}\r\n\r\n", body, closeEarly: true);
        Assert.True(shortReply.Length == 0 || System.Text.RegularExpressions.Regex.IsMatch(shortReply, @"^HTTP/1\.1 4\d\d "), shortReply);

        // A malformed chunked body, read by the endpoint itself: a 4xx with the documented body.
        var chunkedReply = await Exchange(server.Port, headers + "Transfer-Encoding: chunked\r\n\r\n", Encoding.ASCII.GetBytes("ZZ\r\nnot a chunk\r\n0\r\n\r\n"), closeEarly: false);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(chunkedReply, @"^HTTP/1\.1 4\d\d "), $"reply: [{chunkedReply}]\n{server.Output}");
        Assert.Contains("\"code\"", chunkedReply, StringComparison.Ordinal);

        // The same under an endpoint that leaves its errors to the exception handler (an import reads its
        // body as it goes): the handler still answers it, 400 with the documented body.
        var importHeaders = $"POST /v1/audiences/shoppers/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nAuthorization: TD1 {account.MasterKey}\r\n";
        var importReply = await Exchange(server.Port, importHeaders + "Transfer-Encoding: chunked\r\n\r\n", Encoding.ASCII.GetBytes("ZZ\r\nnot a chunk\r\n0\r\n\r\n"), closeEarly: false);
        Assert.StartsWith("HTTP/1.1 400 ", importReply, StringComparison.Ordinal);
        Assert.Contains("\"code\":4000", importReply, StringComparison.Ordinal);

        // An endless chunked body: refused with 413 once past the limit, without reading (or buffering) the rest.
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(IPAddress.Loopback, server.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(headers + "Transfer-Encoding: chunked\r\n\r\n"));
            var chunk = Encoding.ASCII.GetBytes("10000\r\n" + "{\"pad\":\"" + new string('x', 0x10000 - 10) + "\"}" + "\r\n");
            var reply = new byte[4096];
            var answer = stream.ReadAsync(reply).AsTask();
            for (var sent = 0; sent < 64 && !answer.IsCompleted; sent++)
            {
                try
                {
                    await stream.WriteAsync(chunk);
                }
                catch (IOException)
                {
                    break; // the server stopped reading: it has answered
                }
            }
            var text = Encoding.ASCII.GetString(reply, 0, await answer.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.StartsWith("HTTP/1.1 413 ", text, StringComparison.Ordinal);
            Assert.Contains("\"code\":4013", text, StringComparison.Ordinal);
        }

        // A client that sends a few bytes of its body and then stalls is cut off (Kestrel's minimum body
        // data rate) instead of holding a connection and a call forever.
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(IPAddress.Loopback, server.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(headers + "Content-Length: 100000\r\n\r\n{\"td_client_id\":\"slow"));
            var reply = new byte[4096];
            var read = await stream.ReadAsync(reply).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            var text = Encoding.ASCII.GetString(reply, 0, read);
            Assert.True(read == 0 || !text.StartsWith("HTTP/1.1 5", StringComparison.Ordinal), text);
        }

        Assert.Empty((await account.Events()).EnumerateArray());
        Assert.Equal(System.Net.HttpStatusCode.OK, (await account.PostEvent("""{"td_client_id":"after"}""")).StatusCode);
    }
}
