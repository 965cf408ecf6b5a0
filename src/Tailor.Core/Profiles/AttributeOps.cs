using System.Text;
using Tailor.Core.Configuration;

namespace Tailor.Core.Profiles;

/// <summary>Reading, updating and merging attribute states according to their definitions.</summary>
public static class AttributeOps
{
    /// <summary>Strings longer than this many UTF-8 bytes are truncated (objects are dropped).</summary>
    public const int MaxValueBytes = 500;

    /// <summary>The attribute's value at <paramref name="nowMs"/>. Counters read 0 when nothing was counted.</summary>
    public static Value Read(AttributeDefinition definition, AttributeState? state, long nowMs, int window = 0)
    {
        switch (state)
        {
            case ScalarState scalar:
                if (definition.TtlMs is { } ttl && nowMs - scalar.UpdatedMs >= ttl) return Value.Missing;
                return scalar.Value;
            case SlidingCounterState sliding:
                return Value.FromNumber(sliding.Read(window, definition.WindowsMs[window], nowMs));
            case TotalCounterState total:
                return Value.FromNumber(total.Total);
            case null when definition.Type == AttributeType.Counter:
                return Value.FromNumber(0);
            default:
                return Value.Missing;
        }
    }

    /// <summary>Items of a list attribute visible at <paramref name="nowMs"/> (inside its window).</summary>
    public static int VisibleCount(AttributeDefinition definition, ListState list, long nowMs) =>
        definition.WindowMs is { } window ? list.VisibleCount(nowMs - window) : list.Count;

    /// <summary>
    /// Applies one matching key event to an attribute; returns the new state (created when absent), or
    /// the old one unchanged when the event carries nothing for it.
    /// </summary>
    /// <param name="owner">The profile, whose spare objects (a reused state's, see <see cref="ProfileState.Reset"/>) a new attribute state may be.</param>
    public static AttributeState? Apply(AttributeDefinition definition, AttributeState? state, Value fieldValue, long nowMs, ProfileState? owner = null)
    {
        switch (definition.Type)
        {
            case AttributeType.Single:
                {
                    if (Normalize(definition, fieldValue) is not { } value) return state;
                    var scalar = state as ScalarState ?? New<ScalarState>(owner, definition);
                    scalar.Value = value;
                    scalar.UpdatedMs = nowMs;
                    return scalar;
                }
            case AttributeType.List:
                {
                    if (Normalize(definition, fieldValue) is not { } value) return state;
                    var list = state as ListState ?? New<ListState>(owner, definition);
                    if (definition.WindowMs is { } window) list.Expire(nowMs - window);
                    list.Add(value, nowMs, definition.MaxItems, definition.Distinct);
                    return list;
                }
            case AttributeType.Counter:
                {
                    // Without increment_field each matching event counts 1; with it, the field's number.
                    var amount = 1.0;
                    if (definition.IncrementFieldSet)
                    {
                        if (!fieldValue.TryGetNumber(out amount) || !double.IsFinite(amount)) return state;
                    }
                    if (definition.IsTotal)
                    {
                        var total = state as TotalCounterState ?? New<TotalCounterState>(owner, definition);
                        total.Sum += amount;
                        total.UpdatedMs = nowMs;
                        return total;
                    }
                    var sliding = state as SlidingCounterState ?? New<SlidingCounterState>(owner, definition);
                    sliding.Add(definition.WindowsMs, nowMs, amount);
                    return sliding;
                }
            default:
                return state;
        }
    }

    /// <summary>A new attribute state: the owner's spare of this kind for the attribute, emptied, when it has one.</summary>
    private static T New<T>(ProfileState? owner, AttributeDefinition definition) where T : AttributeState, new()
    {
        if (owner?.Spare<T>(definition.Slot) is not { } spare) return new T();
        spare.Empty();
        return spare;
    }

    /// <summary>Sets an imported attribute (or a total counter's base) from profile import.</summary>
    public static AttributeState? Import(AttributeDefinition definition, AttributeState? state, Value value, long nowMs)
    {
        if (definition.IsTotal)
        {
            if (!value.TryGetNumber(out var number)) return state;
            var total = state as TotalCounterState ?? new TotalCounterState();
            total.Base = number;
            total.UpdatedMs = nowMs;
            return total;
        }
        if (definition.Type != AttributeType.Imported) return state;
        var scalar = state as ScalarState ?? new ScalarState();
        scalar.Value = value;
        scalar.UpdatedMs = nowMs;
        return scalar;
    }

    /// <summary>
    /// Merges <paramref name="source"/> into <paramref name="target"/>: singles and imported values by
    /// latest update, lists by recency, counters summed.
    /// </summary>
    public static AttributeState? Merge(AttributeDefinition definition, AttributeState? target, AttributeState? source)
    {
        if (source is null) return target;
        if (target is null) return source;
        switch (target, source)
        {
            case (ScalarState t, ScalarState s):
                return s.UpdatedMs > t.UpdatedMs ? s : t;
            case (ListState t, ListState s):
                var merged = new List<ListEntry>(t.Count + s.Count);
                var seen = new HashSet<Value>();
                // Newest first; on equal times the target's entry comes first.
                foreach (var entry in t.Entries.ToArray().Select((e, i) => (e, order: i)).Concat(s.Entries.ToArray().Select((e, i) => (e, order: i + 1_000_000)))
                             .OrderByDescending(p => p.e.AtMs).ThenBy(p => p.order).Select(p => p.e))
                {
                    if (definition.Distinct && !seen.Add(entry.Value)) continue;
                    merged.Add(entry);
                }
                t.Set(merged, definition.MaxItems);
                return t;
            case (SlidingCounterState t, SlidingCounterState s):
                foreach (var bucket in s.Buckets) t.AddBucket(bucket);
                t.UpdatedMs = Math.Max(t.UpdatedMs, s.UpdatedMs);
                return t;
            case (TotalCounterState t, TotalCounterState s):
                t.Base += s.Base;
                t.Sum += s.Sum;
                t.UpdatedMs = Math.Max(t.UpdatedMs, s.UpdatedMs);
                return t;
            default:
                return target.UpdatedMs >= source.UpdatedMs ? target : source;
        }
    }

    /// <summary>Applies data_type and the 500-byte cap; null when the value is not stored.</summary>
    private static Value? Normalize(AttributeDefinition definition, Value value)
    {
        if (value.IsAbsent) return null;
        switch (definition.DataType)
        {
            case DataType.Number:
                return value.TryGetNumber(out var number) ? Value.FromNumber(number) : null;
            case DataType.String when value.Kind is ValueKind.Number or ValueKind.Bool:
                return Value.FromString(value.ToString());
        }
        if (value.Kind == ValueKind.String) return Value.FromString(Truncate(value.String));
        if (value.Kind == ValueKind.Json) return Encoding.UTF8.GetByteCount(value.String) <= MaxValueBytes ? value : null;
        return value;
    }

    /// <summary>Cuts a string to at most <see cref="MaxValueBytes"/> UTF-8 bytes without splitting a character.</summary>
    public static string Truncate(string text)
    {
        if (text.Length * 3 <= MaxValueBytes || Encoding.UTF8.GetByteCount(text) <= MaxValueBytes) return text;
        var bytes = 0;
        var i = 0;
        while (i < text.Length)
        {
            var width = char.IsHighSurrogate(text[i]) && i + 1 < text.Length ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(text.AsSpan(i, width));
            if (bytes + size > MaxValueBytes) break;
            bytes += size;
            i += width;
        }
        return text[..i];
    }
}
