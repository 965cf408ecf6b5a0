using Tailor.Core.Criteria;
using Tailor.Core.Events;
using Tailor.Core.Profiles;

namespace Tailor.Core.Evaluation;

/// <summary>The <see cref="EvalScope"/> of one evaluation: a profile (optional), an event (optional) and a time.</summary>
internal sealed class ProfileScope : EvalScope
{
    [ThreadStatic] private static ProfileScope? t_cached;

    private AttributeDefinition[] _attributes = [];
    private ProfileState? _state;
    private EventData? _event;
    private long _nowMs;

    /// <summary>A per-thread scope, so that evaluation allocates nothing. Not re-entrant.</summary>
    public static ProfileScope For(AttributeLayout layout, ProfileState? state, EventData? data, long nowMs)
    {
        var scope = t_cached ??= new ProfileScope();
        scope._attributes = layout.Definitions;
        scope._state = state;
        scope._event = data;
        scope._nowMs = nowMs;
        return scope;
    }

    public override long NowMs => _nowMs;

    public override Value Field(string name) => _event is null ? Value.Missing : _event[name];

    public override Value Attribute(int slot) =>
        _state is null ? Value.Missing : AttributeOps.Read(_attributes[slot], _state.Attributes[slot], _nowMs);

    public override Value SubWindow(int slot, int subWindow) =>
        _state is null ? Value.Missing : AttributeOps.Read(_attributes[slot], _state.Attributes[slot], _nowMs, subWindow);

    public override int ListCount(int slot) =>
        _state?.Attributes[slot] is ListState list ? AttributeOps.VisibleCount(_attributes[slot], list, _nowMs) : 0;

    public override Value ListItem(int slot, int index) => ((ListState)_state!.Attributes[slot]!)[index].Value;

    public override long LastUpdated(int slot) => _state?.Attributes[slot]?.UpdatedMs ?? long.MinValue;

    public override bool InSegment(int segment) => _state is not null && _state.InSegment(segment);

    public override bool InBatchSegment(string id) => _state is not null && _state.InBatchSegment(id);
}
