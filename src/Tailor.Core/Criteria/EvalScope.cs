namespace Tailor.Core.Criteria;

/// <summary>
/// What a compiled rule reads while it runs: the incoming event's fields, the profile's attributes
/// (by slot), segment memberships and the current time. Implemented by the evaluator; an abstract
/// class rather than an interface so that calls are plain virtual calls.
/// </summary>
public abstract class EvalScope
{
    /// <summary>Current time in Unix milliseconds.</summary>
    public abstract long NowMs { get; }
    public abstract Value Field(string name);
    public abstract Value Attribute(int slot);
    public abstract Value SubWindow(int slot, int subWindow);
    public abstract int ListCount(int slot);
    public abstract Value ListItem(int slot, int index);
    /// <summary>Unix ms of the attribute's last update, or <see cref="long.MinValue"/> when never set.</summary>
    public abstract long LastUpdated(int slot);
    public abstract bool InSegment(int segment);
    public abstract bool InBatchSegment(string id);
}
