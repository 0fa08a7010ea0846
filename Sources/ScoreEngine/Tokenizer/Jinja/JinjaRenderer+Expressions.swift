/// Evaluating expressions: names, literals, attributes, subscripts, calls, filters, tests and
/// operators, with Python's semantics where Jinja has them (`and`/`or` give an operand, not a
/// boolean; a missing variable or attribute is `Undefined`).
extension JinjaRenderer {
    /// The value of `expression` in `scope`.
    func evaluate(_ expression: JinjaExpression, in scope: JinjaScope) throws -> JinjaValue {
        evaluationDepth += 1
        defer { evaluationDepth -= 1 }
        guard evaluationDepth <= options.maximumEvaluationDepth else {
            throw JinjaError.runtime("expression nested more than \(options.maximumEvaluationDepth) levels deep")
        }
        switch expression {
        case .literal(let value):
            return value
        case .name(let name, _):
            return scope.lookup(name) ?? JinjaGlobals.value(named: name) ?? .undefinedName(name)
        case .list(let items):
            return .list(try items.map { try evaluate($0, in: scope) })
        case .tuple(let items):
            return .tuple(try items.map { try evaluate($0, in: scope) })
        case .dict(let entries):
            var dict = JinjaDict()
            for entry in entries {
                guard case .string(let key) = try evaluate(entry.key, in: scope) else {
                    throw JinjaError.unsupported("chat template uses a dict key that is not a string")
                }
                dict[key] = try evaluate(entry.value, in: scope)
            }
            return .dict(dict)
        case .attribute(let base, let name, let line):
            let value = try evaluate(base, in: scope)
            return try at(line) { try value.attribute(name) }
        case .item(let base, let key, let line):
            let value = try evaluate(base, in: scope)
            let index = try evaluate(key, in: scope)
            return try at(line) { try value.item(index) }
        case .slice(let base, let start, let stop, let step, let line):
            let value = try evaluate(base, in: scope)
            let bounds = try [start, stop, step].map { try $0.map { try evaluate($0, in: scope) } }
            return try at(line) { try value.sliced(start: bounds[0], stop: bounds[1], step: bounds[2]) }
        case .call(let callee, let arguments, let line):
            let function = try evaluate(callee, in: scope)
            let (positional, keywords) = try evaluate(arguments, in: scope)
            return try at(line) { try call(function, positional, keywords) }
        case .filter(let base, let name, let arguments, let line):
            let value = try evaluate(base, in: scope)
            let (positional, keywords) = try evaluate(arguments, in: scope)
            return try at(line) { try JinjaFilters.apply(name, to: value, positional, keywords, renderer: self) }
        case .test(let base, let name, let arguments, let negated, let line):
            let value = try evaluate(base, in: scope)
            let (positional, keywords) = try evaluate(arguments, in: scope)
            let result = try at(line) { try JinjaPredicates.test(name, value, positional, keywords, renderer: self) }
            return .bool(result != negated)
        case .not(let operand):
            return .bool(!(try evaluate(operand, in: scope).truthy))
        case .unary(let op, let operand, let line):
            let value = try evaluate(operand, in: scope)
            return try at(line) { try JinjaOperators.unary(op, value) }
        case .binary(let op, let left, let right, let line):
            let a = try evaluate(left, in: scope)
            let b = try evaluate(right, in: scope)
            return try at(line) { try JinjaOperators.binary(op, a, b) }
        case .and(let left, let right):
            let a = try evaluate(left, in: scope)
            return a.truthy ? try evaluate(right, in: scope) : a
        case .or(let left, let right):
            let a = try evaluate(left, in: scope)
            return a.truthy ? a : try evaluate(right, in: scope)
        case .conditional(let value, let condition, let otherwise):
            if try evaluate(condition, in: scope).truthy { return try evaluate(value, in: scope) }
            return try otherwise.map { try evaluate($0, in: scope) }
                ?? .undefined(description: "the conditional expression evaluated to false and has no else section")
        }
    }

    /// Evaluated call arguments: positional values, then keyword values in order.
    func evaluate(_ arguments: [JinjaArgument], in scope: JinjaScope) throws
        -> (positional: [JinjaValue], keywords: [(String, JinjaValue)]) {
        var positional = [JinjaValue]()
        var keywords = [(String, JinjaValue)]()
        for argument in arguments {
            let value = try evaluate(argument.value, in: scope)
            if let name = argument.name {
                keywords.append((name, value))
            } else {
                positional.append(value)
            }
        }
        return (positional, keywords)
    }

    /// Calls `function` with the arguments.
    func call(_ function: JinjaValue, _ positional: [JinjaValue], _ keywords: [(String, JinjaValue)]) throws -> JinjaValue {
        switch function {
        case .callable(.global(let name)):
            return try JinjaGlobals.call(name, positional, keywords, renderer: self)
        case .callable(.method(let receiver, let name)):
            return try JinjaMethods.call(name, on: receiver, positional, keywords)
        case .callable(.macro(let macro)):
            return try callMacro(macro, positional, keywords)
        case .undefined(let description):
            throw JinjaError.runtime(description)
        default:
            throw JinjaError.runtime("'\(function.typeName)' object is not callable")
        }
    }
}

/// Arguments of a built-in function, filter, test or method, read by position or keyword as
/// Python binds them.
struct JinjaArguments {
    /// What takes them, for errors ("filter 'join'").
    let owner: String
    /// Positional values.
    let positional: [JinjaValue]
    /// Keyword values.
    let keywords: [(String, JinjaValue)]

    /// Arguments of `owner`; throws when a keyword is not one of `names` or more positional
    /// values are given than `names` has.
    init(_ owner: String, _ positional: [JinjaValue], _ keywords: [(String, JinjaValue)], names: [String]) throws {
        self.owner = owner
        self.positional = positional
        self.keywords = keywords
        guard positional.count <= names.count else {
            throw JinjaError.runtime("\(owner) takes at most \(names.count) argument(s), \(positional.count) given")
        }
        for (keyword, _) in keywords where !names.contains(keyword) {
            throw JinjaError.runtime("\(owner) got an unexpected keyword argument '\(keyword)'")
        }
        self.names = names
    }

    /// The parameter names in order.
    private let names: [String]

    /// The argument for parameter `name`, or nil when not given.
    subscript(_ name: String) -> JinjaValue? {
        if let index = names.firstIndex(of: name), index < positional.count { return positional[index] }
        return keywords.last { $0.0 == name }?.1
    }

    /// A string argument, or `fallback` when not given.
    func string(_ name: String, _ fallback: String? = nil) throws -> String? {
        guard let value = self[name], !value.isUndefined else { return fallback }
        if case .none = value { return fallback }
        guard case .string(let text) = value else {
            throw JinjaError.runtime("\(owner): argument '\(name)' must be a string, not \(value.typeName)")
        }
        return text
    }

    /// An integer argument, or `fallback` when not given.
    func int(_ name: String, _ fallback: Int? = nil) throws -> Int? {
        guard let value = self[name], !value.isUndefined else { return fallback }
        if case .none = value { return fallback }
        guard case .int(let number)? = value.number else {
            throw JinjaError.runtime("\(owner): argument '\(name)' must be an integer, not \(value.typeName)")
        }
        return number
    }

    /// A boolean argument (any value, by truth), or `fallback` when not given.
    func bool(_ name: String, _ fallback: Bool) -> Bool {
        self[name].map(\.truthy) ?? fallback
    }
}
