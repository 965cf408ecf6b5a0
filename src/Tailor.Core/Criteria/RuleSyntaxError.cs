namespace Tailor.Core.Criteria;

/// <summary>A problem in a rule, at a character offset of the rule text.</summary>
public sealed record RuleError(int Offset, string Message);

internal sealed class RuleSyntaxException(int offset, string message) : Exception(message)
{
    public int Offset { get; } = offset;
}
