using System.Buffers;
using System.Text.Json;

// The bare-Kestrel baseline of benchmark/load/run.sh: same route, same body, no durability, no engine.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
var app = builder.Build();
var answer = "{\"offers\":{}}"u8.ToArray();
app.MapPost("/{database}/{table}", async (HttpContext context) =>
{
    // The body in a pooled array, as Tailor reads it: the floor allocates only what ASP.NET Core does per request.
    var buffer = ArrayPool<byte>.Shared.Rent(4096);
    var length = 0;
    try
    {
        while (true)
        {
            if (length == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }
            var read = await context.Request.Body.ReadAsync(buffer.AsMemory(length));
            if (read == 0) break;
            length += read;
        }
        using (JsonDocument.Parse(buffer.AsMemory(0, length))) { }
    }
    finally
    {
        ArrayPool<byte>.Shared.Return(buffer);
    }
    context.Response.ContentType = "application/json";
    await context.Response.Body.WriteAsync(answer);
});
app.MapGet("/health", () => "ok");
// Bytes allocated so far, for benchmark/load/allocations.sh: what a bare request costs is the floor of Tailor's per-call figure.
app.MapGet("/allocated", () => GC.GetTotalAllocatedBytes());
app.Run();
