namespace Tailor.Core.Criteria;

/// <summary>A checked, compiled rule: call <see cref="Evaluate"/>; <see cref="Explain"/> tells why it failed.</summary>
public sealed class CompiledRule
{
    private readonly RuleNode _root;

    internal CompiledRule(string text, RuleNode root)
    {
        Text = text;
        _root = root;
        Evaluate = root.Evaluate;
    }

    public string Text { get; }

    /// <summary>True when the rule holds. Allocation-free.</summary>
    public Func<EvalScope, bool> Evaluate { get; }

    /// <summary>
    /// Null when the rule holds; otherwise the innermost condition that made it false, written as in
    /// the rule, with the values it saw (e.g. <c>views.7d &gt;= 3 (views.7d = 2)</c>).
    /// </summary>
    public string? Explain(EvalScope scope) => _root.Evaluate(scope) ? null : _root.WhyFalse(scope);
}

/// <summary>A compiled rule node, kept beside its delegate for explanations.</summary>
internal sealed class RuleNode(Expr expr, Func<EvalScope, bool> evaluate, RuleNode[] children, Func<EvalScope, string>? observed)
{
    public Func<EvalScope, bool> Evaluate { get; } = evaluate;

    private static void CollectOr(RuleNode node, EvalScope scope, List<string> reasons)
    {
        if (node.IsOr)
            foreach (var child in node.Children) CollectOr(child, scope, reasons);
        else reasons.Add(node.WhyFalse(scope));
    }

    private bool IsOr => expr is OrExpr;
    private RuleNode[] Children => children;

    public string WhyFalse(EvalScope scope)
    {
        switch (expr)
        {
            case AndExpr:
                foreach (var child in children)
                    if (!child.Evaluate(scope)) return child.WhyFalse(scope);
                break;
            case OrExpr:
                var reasons = new List<string>();
                CollectOr(this, scope, reasons);
                return reasons.Count == 2 ? $"neither {reasons[0]} nor {reasons[1]}" : $"none of {string.Join("; ", reasons)}";
        }
        var text = RuleFormatter.Format(expr);
        if (expr is NotExpr) return text;
        var seen = observed?.Invoke(scope);
        return seen is null ? text : $"{text} ({seen})";
    }
}
