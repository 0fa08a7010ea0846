/// An expression of a Jinja template.
indirect enum JinjaExpression {
    /// A literal value (string, number, boolean, none).
    case literal(JinjaValue)
    /// A variable.
    case name(String, line: Int)
    /// `[a, b]`.
    case list([JinjaExpression])
    /// `(a, b)` or `a, b`.
    case tuple([JinjaExpression])
    /// `{'k': v}`.
    case dict([(key: JinjaExpression, value: JinjaExpression)])
    /// `x.name`.
    case attribute(JinjaExpression, String, line: Int)
    /// `x[i]` (and `x.0`).
    case item(JinjaExpression, JinjaExpression, line: Int)
    /// `x[a:b:c]`, each bound optional.
    case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?, line: Int)
    /// `f(args)`.
    case call(JinjaExpression, [JinjaArgument], line: Int)
    /// `x | name(args)`.
    case filter(JinjaExpression, name: String, [JinjaArgument], line: Int)
    /// `x is [not] name(args)`.
    case test(JinjaExpression, name: String, [JinjaArgument], negated: Bool, line: Int)
    /// `not x`.
    case not(JinjaExpression)
    /// `-x` or `+x`.
    case unary(String, JinjaExpression, line: Int)
    /// Arithmetic, `~`, comparisons, `in`, `not in`.
    case binary(String, JinjaExpression, JinjaExpression, line: Int)
    /// `a and b`.
    case and(JinjaExpression, JinjaExpression)
    /// `a or b`.
    case or(JinjaExpression, JinjaExpression)
    /// `a if condition else b` (`b` absent: undefined).
    case conditional(JinjaExpression, condition: JinjaExpression, otherwise: JinjaExpression?)
}

/// An argument of a call, filter or test: positional (`name` nil) or keyword.
struct JinjaArgument {
    /// The keyword, or nil for a positional argument.
    let name: String?
    /// The value.
    let value: JinjaExpression
}

/// Where `{% set %}` and `{% for %}` store values.
enum JinjaTarget {
    /// A variable.
    case name(String)
    /// Several variables, unpacked from a sequence (`for key, value in …`).
    case names([String])
    /// A namespace attribute (`ns.attr`).
    case attribute(String, String)
}

/// A statement of a Jinja template.
indirect enum JinjaNode {
    /// Text written as is.
    case text(String)
    /// `{{ expression }}`.
    case output(JinjaExpression, line: Int)
    /// `{% if %}…{% elif %}…{% else %}…{% endif %}`: the branches in order, then the else body.
    case branch([(condition: JinjaExpression, body: [JinjaNode])], otherwise: [JinjaNode])
    /// `{% for target in iterable if filter %}body{% else %}empty{% endfor %}`.
    case loop(target: JinjaTarget, iterable: JinjaExpression, filter: JinjaExpression?, body: [JinjaNode],
              otherwise: [JinjaNode], line: Int)
    /// `{% set target = value %}`.
    case assign(JinjaTarget, JinjaExpression, line: Int)
    /// `{% set name %}body{% endset %}`, the body passed through the filters.
    case assignBlock(String, body: [JinjaNode], filters: [(name: String, arguments: [JinjaArgument], line: Int)])
    /// `{% macro name(parameters) %}body{% endmacro %}`.
    case macro(name: String, parameters: [(name: String, defaultValue: JinjaExpression?)], body: [JinjaNode])
    /// `{% call(parameters) macro(arguments) %}body{% endcall %}`: the call, with `caller()`
    /// rendering the body.
    case callBlock(JinjaExpression, parameters: [(name: String, defaultValue: JinjaExpression?)], body: [JinjaNode],
                   line: Int)
    /// `{% filter name(arguments) %}body{% endfilter %}`.
    case filterBlock([(name: String, arguments: [JinjaArgument], line: Int)], body: [JinjaNode])
    /// `{% with a = 1 %}body{% endwith %}`.
    case with([(name: String, value: JinjaExpression)], body: [JinjaNode])
    /// `{% break %}`.
    case breakLoop
    /// `{% continue %}`.
    case continueLoop
    /// `transformers`' `{% generation %}body{% endgeneration %}`: renders its body.
    case generation([JinjaNode])
}
