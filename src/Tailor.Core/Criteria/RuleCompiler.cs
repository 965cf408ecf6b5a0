using System.Globalization;
using System.Text.RegularExpressions;
using Tailor.Core.Configuration;

namespace Tailor.Core.Criteria;

/// <summary>
/// Type-checks a parsed rule against the names of its <see cref="RuleSymbols"/> and compiles it to
/// closures over <see cref="EvalScope"/>. Every node is checked before it is compiled; an ill-typed
/// node is reported and replaced by a constant false so that the rest of the rule is still checked.
/// </summary>
public static class RuleCompiler
{
    private static readonly string[] Functions = ["in_segment", "in_batch_segment", "size"];

    /// <summary>Parses, checks and compiles; on failure returns null and every error found.</summary>
    public static CompiledRule? Compile(string text, RuleSymbols symbols, out IReadOnlyList<RuleError> errors)
    {
        Expr ast;
        try
        {
            ast = Parser.Parse(text);
        }
        catch (RuleSyntaxException ex)
        {
            errors = [new RuleError(ex.Offset, ex.Message)];
            return null;
        }
        var context = new Context(symbols);
        var root = context.Predicate(ast);
        errors = context.Errors;
        return context.Errors.Count == 0 ? new CompiledRule(text, root) : null;
    }

    /// <summary>A compiled operand: a scalar getter, a constant, or a list attribute.</summary>
    private sealed class Operand
    {
        public required int Offset { get; init; }
        public StaticType Type { get; init; }
        public Func<EvalScope, Value> Get { get; init; } = static _ => Value.Missing;
        public Value? Constant { get; init; }
        public bool IsList { get; init; }
        public int Slot { get; init; } = -1;
        public string? Name { get; init; }
        public bool IsNullLiteral => Constant is { Kind: ValueKind.Null };
    }

    private sealed class Context(RuleSymbols symbols)
    {
        public List<RuleError> Errors { get; } = [];

        private static readonly RuleNode[] NoChildren = [];

        private RuleNode Fail(Expr expr, int offset, string message)
        {
            Errors.Add(new RuleError(offset, message));
            return new RuleNode(expr, static _ => false, NoChildren, null);
        }

        public RuleNode Predicate(Expr expr)
        {
            switch (expr)
            {
                case AndExpr and:
                    {
                        var l = Predicate(and.Left);
                        var r = Predicate(and.Right);
                        Func<EvalScope, bool> le = l.Evaluate, re = r.Evaluate;
                        return new RuleNode(expr, s => le(s) && re(s), [l, r], null);
                    }
                case OrExpr or:
                    {
                        var l = Predicate(or.Left);
                        var r = Predicate(or.Right);
                        Func<EvalScope, bool> le = l.Evaluate, re = r.Evaluate;
                        return new RuleNode(expr, s => le(s) || re(s), [l, r], null);
                    }
                case NotExpr not:
                    {
                        var inner = Predicate(not.Operand);
                        var ie = inner.Evaluate;
                        return new RuleNode(expr, s => !ie(s), [inner], null);
                    }
                case CompareExpr compare: return Compare(compare);
                case InExpr inExpr: return In(inExpr);
                case TextExpr text: return Text(text);
                case IsNullExpr isNull: return IsNull(isNull);
                case WithinExpr within: return Within(within);
                default:
                    {
                        var operand = Operand(expr);
                        if (operand is null) return new RuleNode(expr, static _ => false, NoChildren, null);
                        if (operand.IsList || operand.Type is not (StaticType.Bool or StaticType.Any))
                        {
                            var hint = operand.Type == StaticType.Number ? $" (did you mean `{RuleFormatter.Format(expr)} > 0`?)" : "";
                            return Fail(expr, expr.Offset, $"expected a condition, but `{RuleFormatter.Format(expr)}` is {DescribeType(operand)}{hint}");
                        }
                        var get = operand.Get;
                        return new RuleNode(expr, s => get(s).IsTrue, NoChildren, Observer(operand));
                    }
            }
        }

        private RuleNode Compare(CompareExpr expr)
        {
            var left = Operand(expr.Left);
            var right = Operand(expr.Right);
            if (left is null || right is null) return new RuleNode(expr, static _ => false, NoChildren, null);
            if (right.IsList) return Fail(expr, right.Offset, "a list attribute can only be on the left of a comparison");
            if (left.IsNullLiteral || right.IsNullLiteral)
                return Fail(expr, (left.IsNullLiteral ? left : right).Offset, "comparisons with null are always false; use `is null` or `is not null`");
            var ordering = expr.Op is not (CompareOp.Eq or CompareOp.NotEq);
            if (!Comparable(left.Type, right.Type))
                return Fail(expr, expr.Offset, $"cannot compare {Describe(left)} with {Describe(right)}");
            if (ordering && (left.Type == StaticType.Bool || right.Type == StaticType.Bool))
                return Fail(expr, expr.Offset, $"`{Op(expr.Op)}` orders numbers or text; true/false cannot be ordered");

            Func<Value, Value, bool> test = expr.Op switch
            {
                CompareOp.Eq => static (a, b) => a.Matches(b),
                CompareOp.NotEq => static (a, b) => !a.IsAbsent && !b.IsAbsent && !a.Matches(b),
                CompareOp.Lt => static (a, b) => a.CompareTo(b) < 0,
                CompareOp.LtEq => static (a, b) => a.CompareTo(b) <= 0,
                CompareOp.Gt => static (a, b) => a.CompareTo(b) > 0,
                _ => static (a, b) => a.CompareTo(b) >= 0,
            };
            var getRight = right.Get;
            Func<EvalScope, bool> evaluate;
            if (left.IsList)
            {
                var slot = left.Slot;
                evaluate = expr.Op == CompareOp.NotEq
                    ? s => s.ListCount(slot) > 0 && !AnyItem(s, slot, getRight(s), static (a, b) => a.Matches(b))
                    : s => AnyItem(s, slot, getRight(s), test);
            }
            else if (right.Constant is { } constant)
            {
                var getLeft = left.Get;
                evaluate = expr.Op switch
                {
                    // The two commonest shapes get a closure without the extra delegate hop.
                    CompareOp.Eq => s => getLeft(s).Matches(constant),
                    CompareOp.GtEq => s => getLeft(s).CompareTo(constant) >= 0,
                    _ => s => test(getLeft(s), constant),
                };
            }
            else
            {
                var getLeft = left.Get;
                evaluate = s => test(getLeft(s), getRight(s));
            }
            return new RuleNode(expr, evaluate, NoChildren, Observer(left) ?? Observer(right));
        }

        private static bool AnyItem(EvalScope s, int slot, Value right, Func<Value, Value, bool> test)
        {
            var count = s.ListCount(slot);
            for (var i = 0; i < count; i++)
                if (test(s.ListItem(slot, i), right)) return true;
            return false;
        }

        private RuleNode In(InExpr expr)
        {
            var left = Operand(expr.Left);
            if (left is null) return new RuleNode(expr, static _ => false, NoChildren, null);
            foreach (var item in expr.List.Items)
            {
                var itemType = TypeOf(item.Value);
                if (!Comparable(left.Type, itemType))
                    return Fail(expr, item.Offset, $"`{RuleFormatter.Format(item)}` can never equal {Describe(left)}");
            }
            var items = expr.List.Items.Select(i => i.Value).ToArray();
            var negated = expr.Negated;
            Func<EvalScope, bool> evaluate;
            if (left.IsList)
            {
                var slot = left.Slot;
                evaluate = s =>
                {
                    var count = s.ListCount(slot);
                    if (count == 0) return false;
                    var any = false;
                    for (var i = 0; i < count && !any; i++) any = Contains(items, s.ListItem(slot, i));
                    return any != negated;
                };
            }
            else
            {
                var get = left.Get;
                evaluate = s =>
                {
                    var value = get(s);
                    return !value.IsAbsent && Contains(items, value) != negated;
                };
            }
            return new RuleNode(expr, evaluate, NoChildren, Observer(left));
        }

        private static bool Contains(Value[] items, Value value)
        {
            foreach (var item in items)
                if (item.Matches(value)) return true;
            return false;
        }

        private RuleNode Text(TextExpr expr)
        {
            var left = Operand(expr.Left);
            var right = Operand(expr.Right);
            if (left is null || right is null) return new RuleNode(expr, static _ => false, NoChildren, null);
            if (right.IsList) return Fail(expr, right.Offset, "a list attribute can only be on the left");
            var name = OpName(expr.Op);
            if (expr.Op == TextOp.Contains && left.IsList)
            {
                if (!Comparable(left.Type, right.Type)) return Fail(expr, expr.Offset, $"cannot look for {Describe(right)} in {Describe(left)}");
                var slot = left.Slot;
                var getItem = right.Get;
                return new RuleNode(expr, s => AnyItem(s, slot, getItem(s), static (a, b) => a.Matches(b)), NoChildren, Observer(left));
            }
            if (left.Type is not (StaticType.String or StaticType.Any))
                return Fail(expr, expr.Left.Offset, $"`{name}` works on text, but `{RuleFormatter.Format(expr.Left)}` is {Describe(left)}");
            if (right.Type is not (StaticType.String or StaticType.Any))
                return Fail(expr, expr.Right.Offset, $"`{name}` expects text on the right, found {Describe(right)}");

            Func<Value, Value, bool> test;
            if (expr.Op == TextOp.Matches)
            {
                Regex regex;
                try
                {
                    // Non-backtracking: a rule's regex runs on client input, so it must be linear-time.
                    regex = new Regex(right.Constant!.Value.String, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
                }
                catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
                {
                    return Fail(expr, expr.Right.Offset, $"invalid regular expression: {ex.Message}");
                }
                test = (a, _) => a.Kind == ValueKind.String && regex.IsMatch(a.String);
            }
            else
            {
                test = expr.Op switch
                {
                    TextOp.Contains => static (a, b) => a.Kind == ValueKind.String && b.Kind == ValueKind.String && a.String.Contains(b.String, StringComparison.Ordinal),
                    TextOp.StartsWith => static (a, b) => a.Kind == ValueKind.String && b.Kind == ValueKind.String && a.String.StartsWith(b.String, StringComparison.Ordinal),
                    _ => static (a, b) => a.Kind == ValueKind.String && b.Kind == ValueKind.String && a.String.EndsWith(b.String, StringComparison.Ordinal),
                };
            }
            var getRight = right.Get;
            Func<EvalScope, bool> evaluate;
            if (left.IsList)
            {
                var slot = left.Slot;
                evaluate = s => AnyItem(s, slot, getRight(s), test);
            }
            else
            {
                var getLeft = left.Get;
                evaluate = s => test(getLeft(s), getRight(s));
            }
            return new RuleNode(expr, evaluate, NoChildren, Observer(left));
        }

        private RuleNode IsNull(IsNullExpr expr)
        {
            var operand = Operand(expr.Operand);
            if (operand is null) return new RuleNode(expr, static _ => false, NoChildren, null);
            var negated = expr.Negated;
            Func<EvalScope, bool> evaluate;
            if (operand.IsList)
            {
                var slot = operand.Slot;
                evaluate = s => (s.ListCount(slot) == 0) != negated;
            }
            else
            {
                var get = operand.Get;
                evaluate = s => get(s).IsAbsent != negated;
            }
            return new RuleNode(expr, evaluate, NoChildren, Observer(operand));
        }

        private RuleNode Within(WithinExpr expr)
        {
            if (expr.Operand is not NameExpr name)
                return Fail(expr, expr.Operand.Offset, "`within` applies to an attribute (its last update) or an event field holding a time");
            var periodMs = (long)expr.Period.TotalMilliseconds;
            if (symbols.Context == RuleContext.EventFilter)
            {
                var field = name.Name;
                return new RuleNode(expr, s => TryTimestampMs(s.Field(field), out var at) && s.NowMs - at <= periodMs && at <= s.NowMs + 60_000,
                    NoChildren, s => $"{field} = {s.Field(field)}");
            }
            if (ResolveAttribute(name) is not { } attribute) return new RuleNode(expr, static _ => false, NoChildren, null);
            var slot = attribute.Slot;
            return new RuleNode(expr, s =>
            {
                var at = s.LastUpdated(slot);
                return at != long.MinValue && s.NowMs - at <= periodMs;
            }, NoChildren, s => s.LastUpdated(slot) is var at && at == long.MinValue
                ? $"{attribute.Name} never updated"
                : $"{attribute.Name} last updated {Duration.Format(TimeSpan.FromSeconds(Math.Max(1, (s.NowMs - at) / 1000)))} ago");
        }

        /// <summary>Epoch seconds (or milliseconds when it is that large), or an ISO-8601 text.</summary>
        private static bool TryTimestampMs(Value value, out long ms)
        {
            ms = 0;
            if (value.Kind == ValueKind.Number)
            {
                var n = value.Number;
                if (double.IsNaN(n) || Math.Abs(n) > 1e15) return false;
                ms = Math.Abs(n) >= 1e11 ? (long)n : (long)(n * 1000);
                return true;
            }
            if (value.Kind == ValueKind.String && DateTimeOffset.TryParse(value.String, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                ms = at.ToUnixTimeMilliseconds();
                return true;
            }
            return false;
        }

        private Operand? Operand(Expr expr)
        {
            switch (expr)
            {
                case LiteralExpr literal:
                    var constant = literal.Value;
                    return new Operand { Offset = expr.Offset, Type = TypeOf(constant), Constant = constant, Get = _ => constant };
                case ListExpr:
                    Errors.Add(new RuleError(expr.Offset, "a literal list can only follow `in` or `not in`"));
                    return null;
                case NameExpr name:
                    return NameOperand(name);
                case CallExpr call:
                    return Call(call);
                default:
                    // A condition used as a value: (a and b) == true. Allowed, it is a boolean.
                    var node = Predicate(expr);
                    var evaluate = node.Evaluate;
                    return new Operand { Offset = expr.Offset, Type = StaticType.Bool, Get = s => Value.FromBool(evaluate(s)) };
            }
        }

        private Operand? NameOperand(NameExpr name)
        {
            if (symbols.Context == RuleContext.EventFilter)
            {
                var field = name.Name;
                return new Operand { Offset = name.Offset, Type = StaticType.Any, Get = s => s.Field(field), Name = field };
            }
            if (ResolveAttribute(name, out var subWindow) is not { } attribute) return null;
            var slot = attribute.Slot;
            if (attribute.IsList)
                return new Operand { Offset = name.Offset, Type = attribute.Type, IsList = true, Slot = slot, Name = name.Name };
            Func<EvalScope, Value> get = subWindow > 0 ? s => s.SubWindow(slot, subWindow) : s => s.Attribute(slot);
            return new Operand { Offset = name.Offset, Type = attribute.Type, Get = get, Slot = slot, Name = name.Name };
        }

        private AttributeSymbol? ResolveAttribute(NameExpr name) => ResolveAttribute(name, out _);

        private AttributeSymbol? ResolveAttribute(NameExpr name, out int subWindow)
        {
            subWindow = 0;
            if (symbols.Attributes.TryGetValue(name.Name, out var attribute)) return attribute;
            var dot = name.Name.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0 && symbols.Attributes.TryGetValue(name.Name[..dot], out attribute))
            {
                var window = name.Name[(dot + 1)..];
                if (!attribute.IsCounter)
                {
                    Errors.Add(new RuleError(name.Offset + dot, $"`{attribute.Name}` is not a counter; only counters have windows such as `.7d`"));
                    return null;
                }
                var index = attribute.SubWindows.ToList().IndexOf(window);
                if (index < 0)
                {
                    var known = attribute.SubWindows.Count == 0 ? "none (it is a total counter)" : string.Join(", ", attribute.SubWindows.Select(w => $"{attribute.Name}.{w}"));
                    Errors.Add(new RuleError(name.Offset + dot + 1, $"counter `{attribute.Name}` has no window `{window}`; its windows are {known}"));
                    return null;
                }
                subWindow = index;
                return attribute;
            }
            if (symbols.Unchecked.Contains(dot > 0 ? name.Name[..dot] : name.Name)) return null;
            var candidates = symbols.Attributes.Values.SelectMany(a => a.SubWindows.Select(w => $"{a.Name}.{w}").Prepend(a.Name));
            Errors.Add(new RuleError(name.Offset, $"unknown attribute `{name.Name}`{Suggestions.DidYouMean(name.Name, candidates)}"));
            return null;
        }

        private Operand? Call(CallExpr call)
        {
            if (Array.IndexOf(Functions, call.Function) < 0)
            {
                Errors.Add(new RuleError(call.Offset, $"unknown function `{call.Function}`{Suggestions.DidYouMean(call.Function, Functions)}; functions are in_segment(\"name\"), in_batch_segment(\"id\") and size(list)"));
                return null;
            }
            if (call.Arguments.Count != 1)
            {
                Errors.Add(new RuleError(call.Offset, $"`{call.Function}` takes exactly one argument, found {call.Arguments.Count}"));
                return null;
            }
            var argument = call.Arguments[0];
            if (call.Function == "size")
            {
                var operand = Operand(argument);
                if (operand is null) return null;
                if (operand.IsList)
                {
                    var slot = operand.Slot;
                    return new Operand { Offset = call.Offset, Type = StaticType.Number, Get = s => Value.FromNumber(s.ListCount(slot)), Name = $"size({operand.Name})" };
                }
                if (operand.Type is not (StaticType.String or StaticType.Any))
                {
                    Errors.Add(new RuleError(argument.Offset, $"`size` takes a list attribute or text, found {Describe(operand)}"));
                    return null;
                }
                var get = operand.Get;
                return new Operand { Offset = call.Offset, Type = StaticType.Number, Get = s => get(s) is { Kind: ValueKind.String } v ? Value.FromNumber(v.String.Length) : Value.Missing };
            }
            if (argument is not LiteralExpr { Value.Kind: ValueKind.String } literal)
            {
                Errors.Add(new RuleError(argument.Offset, $"`{call.Function}` takes a name in quotes, e.g. {call.Function}(\"name\")"));
                return null;
            }
            if (symbols.Context == RuleContext.EventFilter)
            {
                Errors.Add(new RuleError(call.Offset, $"`{call.Function}` reads the profile; event filters see only the event's fields"));
                return null;
            }
            var name = literal.Value.String;
            if (call.Function == "in_segment")
            {
                if (!symbols.Segments.TryGetValue(name, out var index))
                {
                    var why = symbols.AllSegments.Contains(name)
                        ? $"segment `{name}` cannot be used here: a segment rule may only use segments defined before it"
                        : $"unknown segment `{name}`{Suggestions.DidYouMean(name, symbols.AllSegments)}";
                    Errors.Add(new RuleError(argument.Offset, why));
                    return null;
                }
                return new Operand { Offset = call.Offset, Type = StaticType.Bool, Get = s => Value.FromBool(s.InSegment(index)) };
            }
            if (!symbols.BatchSegmentIds.Contains(name))
            {
                Errors.Add(new RuleError(argument.Offset, $"unknown batch segment id `{name}`{Suggestions.DidYouMean(name, symbols.BatchSegmentIds)}"));
                return null;
            }
            return new Operand { Offset = call.Offset, Type = StaticType.Bool, Get = s => Value.FromBool(s.InBatchSegment(name)) };
        }

        private static Func<EvalScope, string>? Observer(Operand operand)
        {
            if (operand.Name is not { } name) return null;
            if (operand.IsList)
            {
                var slot = operand.Slot;
                return s => $"{name} = [{string.Join(", ", Enumerable.Range(0, s.ListCount(slot)).Select(i => s.ListItem(slot, i).ToString()))}]";
            }
            var get = operand.Get;
            return s => $"{name} = {get(s)}";
        }

        private static bool Comparable(StaticType a, StaticType b) =>
            a == StaticType.Any || b == StaticType.Any || a == b || a == StaticType.Null || b == StaticType.Null;

        private static StaticType TypeOf(Value value) => value.Kind switch
        {
            ValueKind.String => StaticType.String,
            ValueKind.Number => StaticType.Number,
            ValueKind.Bool => StaticType.Bool,
            ValueKind.Null => StaticType.Null,
            _ => StaticType.Any,
        };

        private static string Describe(Operand operand)
        {
            var what = DescribeType(operand);
            return operand.Name is { } name ? $"`{name}` ({what})" : operand.Constant is { } c ? $"{what} {c}" : what;
        }

        private static string DescribeType(Operand operand)
        {
            var what = operand.Type switch
            {
                StaticType.String => "text",
                StaticType.Number => "a number",
                StaticType.Bool => "true/false",
                StaticType.Null => "null",
                _ => "a value",
            };
            return operand.IsList ? $"a list of {(operand.Type == StaticType.Any ? "values" : what)}" : what;
        }

        private static string Op(CompareOp op) => op switch
        {
            CompareOp.Lt => "<",
            CompareOp.LtEq => "<=",
            CompareOp.Gt => ">",
            CompareOp.GtEq => ">=",
            CompareOp.Eq => "==",
            _ => "!=",
        };

        private static string OpName(TextOp op) => op switch
        {
            TextOp.Contains => "contains",
            TextOp.StartsWith => "starts_with",
            TextOp.EndsWith => "ends_with",
            _ => "matches",
        };
    }
}
