using System.Globalization;

namespace Tailor.Core.Criteria;

/// <summary>Writes a rule back as text, in canonical form (used by explanations).</summary>
internal static class RuleFormatter
{
    public static string Format(Expr expr) => expr switch
    {
        LiteralExpr l => Literal(l.Value),
        ListExpr l => "[" + string.Join(", ", l.Items.Select(i => Literal(i.Value))) + "]",
        NameExpr n => n.Name,
        CallExpr c => $"{c.Function}({string.Join(", ", c.Arguments.Select(Format))})",
        CompareExpr c => $"{Format(c.Left)} {Op(c.Op)} {Format(c.Right)}",
        InExpr i => $"{Format(i.Left)} {(i.Negated ? "not in" : "in")} {Format(i.List)}",
        TextExpr t => $"{Format(t.Left)} {t.Op switch { TextOp.Contains => "contains", TextOp.StartsWith => "starts_with", TextOp.EndsWith => "ends_with", _ => "matches" }} {Format(t.Right)}",
        IsNullExpr n => $"{Format(n.Operand)} is {(n.Negated ? "not " : "")}null",
        WithinExpr w => $"{Format(w.Operand)} within {Configuration.Duration.Format(w.Period)}",
        AndExpr a => $"{Nested(a.Left, a)} and {Nested(a.Right, a)}",
        OrExpr o => $"{Nested(o.Left, o)} or {Nested(o.Right, o)}",
        NotExpr n => $"not {Nested(n.Operand, n)}",
        _ => "?",
    };

    private static string Nested(Expr child, Expr parent) =>
        (child is OrExpr && parent is not OrExpr) || (child is AndExpr && parent is NotExpr) ? $"({Format(child)})" : Format(child);

    private static string Op(CompareOp op) => op switch
    {
        CompareOp.Eq => "==",
        CompareOp.NotEq => "!=",
        CompareOp.Lt => "<",
        CompareOp.LtEq => "<=",
        CompareOp.Gt => ">",
        _ => ">=",
    };

    private static string Literal(Value value) => value.Kind switch
    {
        ValueKind.String => "\"" + value.String.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        ValueKind.Number => value.Number.ToString("R", CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
