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
    var buffer = new ArrayBufferWriter<byte>(512);
    while (true)
    {
        var read = await context.Request.Body.ReadAsync(buffer.GetMemory(4096));
        if (read == 0) break;
        buffer.Advance(read);
    }
    using (JsonDocument.Parse(buffer.WrittenMemory)) { }
    context.Response.ContentType = "application/json";
    await context.Response.Body.WriteAsync(answer);
});
app.MapGet("/health", () => "ok");
app.Run();
