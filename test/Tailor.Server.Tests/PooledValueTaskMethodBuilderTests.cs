using System.Runtime.CompilerServices;
using Tailor.Server.Threading;

namespace Tailor.Server.Tests;

// These tests hold the ValueTasks the builder returns, each consumed once, and read .Result only once
// a call has completed: what they check is the builder's own bookkeeping.
#pragma warning disable CA2012, xUnit1031

/// <summary>The pooled async method builder of the personalization path: the runtime builder's semantics, and boxes reused while many calls wait at once.</summary>
public sealed class PooledValueTaskMethodBuilderTests
{
    private static readonly AsyncLocal<string?> Flowing = new();

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<int> AddAfter(Task<int> first, int second) => await first.ConfigureAwait(false) + second;

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ThrowBefore(Task<int> first)
    {
        if (!first.IsCompleted) throw new InvalidOperationException("before");
        return await first;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ThrowAfter(Task<int> first)
    {
        await first.ConfigureAwait(false);
        throw new InvalidOperationException("after");
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string?> SeenAfterAwait(Task<int> first)
    {
        Flowing.Value = "set inside";
        await first.ConfigureAwait(false);
        await Task.Yield();
        return Flowing.Value;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string?> ReadAfterAwait(Task<int> first)
    {
        await first.ConfigureAwait(false);
        return Flowing.Value;
    }

    [Fact]
    public async Task Results_and_errors_arrive_as_from_any_async_method()
    {
        Assert.Equal(5, await AddAfter(Task.FromResult(2), 3)); // completes without awaiting
        var later = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sum = AddAfter(later.Task, 3);
        Assert.False(sum.IsCompleted);
        later.SetResult(4);
        Assert.Equal(7, await sum);

        var before = ThrowBefore(new TaskCompletionSource<int>().Task);
        Assert.True(before.IsFaulted);
        Assert.Equal("before", (await Assert.ThrowsAsync<InvalidOperationException>(async () => await before)).Message);
        var failing = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var after = ThrowAfter(failing.Task);
        failing.SetResult(1);
        Assert.Equal("after", (await Assert.ThrowsAsync<InvalidOperationException>(async () => await after)).Message);
    }

    [Fact]
    public async Task The_callers_execution_context_flows_in_and_the_methods_own_changes_stay_inside()
    {
        Flowing.Value = "caller";
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var read = ReadAfterAwait(gate.Task);
        // Completed from a thread whose context does not have the caller's value.
        await Task.Run(() =>
        {
            using (ExecutionContext.SuppressFlow()) new Thread(() => gate.SetResult(0)).Start();
        });
        Assert.Equal("caller", await read);

        var inside = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = SeenAfterAwait(inside.Task);
        Assert.Equal("caller", Flowing.Value);
        inside.SetResult(0);
        Assert.Equal("set inside", await seen);
        Assert.Equal("caller", Flowing.Value);
    }

    /// <summary>The object behind a ValueTask (its box, when the method awaited): not public, read for this check only.</summary>
    private static readonly System.Reflection.FieldInfo SourceOf =
        typeof(ValueTask<int>).GetField("_obj", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;

    [Fact]
    public async Task Boxes_are_reused_when_many_calls_wait_at_once()
    {
        const int Waiting = 200, Rounds = 10;
        var boxes = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var calls = new ValueTask<int>[Waiting];
        for (var round = 0; round < Rounds; round++)
        {
            // All of a round's calls wait at once, as calls wait for one group commit; then they complete.
            var gates = Enumerable.Range(0, Waiting).Select(_ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
            for (var i = 0; i < Waiting; i++)
            {
                calls[i] = AddAfter(gates[i].Task, i);
                boxes.Add(SourceOf.GetValue(calls[i])!);
            }
            foreach (var gate in gates) gate.SetResult(round);
            for (var i = 0; i < Waiting; i++) Assert.Equal(round + i, await calls[i]);
        }
        // The runtime's builder keeps one box per thread and one per core: it would have made ~2,000.
        Assert.InRange(boxes.Count, Waiting, Waiting + 16);
        Assert.All(boxes, box => Assert.IsAssignableFrom<PooledBox<int>>(box));
    }

    [Fact]
    public async Task A_result_read_before_the_call_completes_is_refused_and_the_call_still_completes()
    {
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sum = AddAfter(gate.Task, 1);
        Assert.Throws<InvalidOperationException>(() => sum.Result);
        gate.SetResult(1);
        Assert.Equal(2, await sum);
    }
}
