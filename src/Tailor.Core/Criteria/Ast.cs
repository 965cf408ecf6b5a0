namespace Tailor.Core.Criteria;

/// <summary>Syntax tree of a rule. <c>Offset</c> is where the node starts in the rule text.</summary>
internal abstract record Expr(int Offset);

internal sealed record LiteralExpr(int Offset, Value Value) : Expr(Offset);

internal sealed record ListExpr(int Offset, IReadOnlyList<LiteralExpr> Items) : Expr(Offset);

internal sealed record NameExpr(int Offset, string Name) : Expr(Offset);

internal sealed record CallExpr(int Offset, string Function, IReadOnlyList<Expr> Arguments) : Expr(Offset);

internal enum CompareOp { Eq, NotEq, Lt, LtEq, Gt, GtEq }

internal sealed record CompareExpr(int Offset, CompareOp Op, Expr Left, Expr Right) : Expr(Offset);

internal sealed record InExpr(int Offset, Expr Left, ListExpr List, bool Negated) : Expr(Offset);

internal enum TextOp { Contains, StartsWith, EndsWith, Matches }

internal sealed record TextExpr(int Offset, TextOp Op, Expr Left, Expr Right) : Expr(Offset);

internal sealed record IsNullExpr(int Offset, Expr Operand, bool Negated) : Expr(Offset);

internal sealed record WithinExpr(int Offset, Expr Operand, TimeSpan Period) : Expr(Offset);

internal sealed record AndExpr(int Offset, Expr Left, Expr Right) : Expr(Offset);

internal sealed record OrExpr(int Offset, Expr Left, Expr Right) : Expr(Offset);

internal sealed record NotExpr(int Offset, Expr Operand) : Expr(Offset);
