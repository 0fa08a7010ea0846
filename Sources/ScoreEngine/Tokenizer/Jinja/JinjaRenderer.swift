import Foundation

/// Runs a parsed template: writes text and expressions, follows `if` and `for`, keeps Jinja's
/// scoping (a for loop's body gets a fresh scope each iteration, so a plain `set` inside it does
/// not outlive the iteration, while `set ns.attr` changes the namespace object), and guards
/// against runaway templates with limits on output, loop iterations and call depth.
final class JinjaRenderer {
    /// How a statement list ended.
    enum Flow {
        case normal, breakLoop, continueLoop
    }

    /// Settings of a rendering. The limits keep a hostile template from exhausting memory,
    /// time or the stack; real chat templates stay far below them.
    struct Options {
        /// The time `strftime_now` reads.
        var now = Date()
        /// The time zone `strftime_now` formats in.
        var timeZone = TimeZone.current
        /// Most characters a rendering may write.
        var maximumOutput = 16 << 20
        /// Most loop iterations and macro calls a rendering may make.
        var maximumSteps = 1_000_000
        /// Deepest macro nesting.
        var maximumCallDepth = 32
        /// Deepest nesting of an expression's evaluation (across macro calls).
        var maximumEvaluationDepth = 256
        /// Deepest nesting of statement lists (across macro calls).
        var maximumRenderDepth = 256
    }

    /// The settings.
    let options: Options
    /// The outermost scope: the variables the template is rendered with.
    let globals: JinjaScope
    /// Characters written so far (for the output limit).
    private var written = 0
    /// Loop iterations and calls so far.
    private var steps = 0
    /// Current macro nesting.
    private var callDepth = 0
    /// Current nesting of expression evaluation.
    var evaluationDepth = 0
    /// Current nesting of statement lists (blocks, loop bodies, macro bodies).
    private var renderDepth = 0
    /// Scopes that hold a macro defined in them (the macro holds its scope in turn) and the
    /// namespaces made (`{% set ns.me = ns %}` makes one hold itself): reference cycles a template
    /// can build, released by emptying these once rendering ends.
    private var macroScopes: [JinjaScope] = []
    var namespaces: [JinjaNamespace] = []

    /// A renderer with `variables` in its outermost scope.
    init(variables: [String: JinjaValue], options: Options) {
        self.options = options
        globals = JinjaScope(parent: nil)
        for (name, value) in variables { globals.set(name, value) }
    }

    /// Renders `nodes` into a new string.
    func render(_ nodes: [JinjaNode]) throws -> String {
        defer {
            for scope in macroScopes { scope.removeAll() }
            for namespace in namespaces { namespace.attributes = JinjaDict() }
            macroScopes = []
            namespaces = []
        }
        var out = ""
        _ = try render(nodes, in: globals, into: &out)
        return out
    }

    /// Counts one loop iteration or call against the step limit.
    func step() throws {
        steps += 1
        guard steps <= options.maximumSteps else {
            throw JinjaError.runtime("rendering took more than \(options.maximumSteps) loop iterations and calls")
        }
    }

    /// Appends `text` to `out`, within the output limit.
    private func write(_ text: String, to out: inout String) throws {
        written += text.utf8.count
        guard written <= options.maximumOutput else {
            throw JinjaError.runtime("rendering wrote more than \(options.maximumOutput) bytes")
        }
        out += text
    }

    /// Renders `nodes` in `scope`, appending to `out`; returns how the list ended (a `break` or
    /// `continue` inside it ends it early).
    func render(_ nodes: [JinjaNode], in scope: JinjaScope, into out: inout String) throws -> Flow {
        renderDepth += 1
        defer { renderDepth -= 1 }
        guard renderDepth <= options.maximumRenderDepth else {
            throw JinjaError.runtime("blocks and macro calls nested more than \(options.maximumRenderDepth) levels deep")
        }
        for node in nodes {
            switch node {
            case .text(let text):
                try write(text, to: &out)
            case .output(let expression, let line):
                let value = try at(line) { try evaluate(expression, in: scope) }
                try write(value.pythonString, to: &out)
            case .branch(let branches, let otherwise):
                var chosen = otherwise
                for branch in branches {
                    if try evaluate(branch.condition, in: scope).truthy {
                        chosen = branch.body
                        break
                    }
                }
                let flow = try render(chosen, in: scope, into: &out)
                if flow != .normal { return flow }
            case .loop(let target, let iterable, let filter, let body, let otherwise, let line):
                try at(line) {
                    try renderLoop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise,
                                   in: scope, into: &out)
                }
            case .assign(let target, let expression, let line):
                try at(line) { try assign(target, try evaluate(expression, in: scope), in: scope) }
            case .assignBlock(let name, let body, let filters):
                var captured = ""
                _ = try render(body, in: JinjaScope(parent: scope), into: &captured)
                scope.set(name, try applyFilters(filters, to: .string(captured), in: scope))
            case .macro(let name, let parameters, let body):
                macroScopes.append(scope)
                scope.set(name, .callable(.macro(JinjaMacro(name: name, parameters: parameters, body: body, scope: scope))))
            case .callBlock(let call, let parameters, let body, let line):
                try at(line) {
                    guard case .call(let callee, let arguments, _) = call,
                          case .callable(.macro(let macro)) = try evaluate(callee, in: scope) else {
                        throw JinjaError.runtime("'{% call %}' needs a macro")
                    }
                    let caller = JinjaMacro(name: "caller", parameters: parameters, body: body, scope: scope, isCaller: true)
                    let (positional, keywords) = try evaluate(arguments, in: scope)
                    let result = try callMacro(macro, positional, keywords, caller: .callable(.macro(caller)))
                    try write(result.pythonString, to: &out)
                }
            case .filterBlock(let filters, let body):
                var captured = ""
                _ = try render(body, in: JinjaScope(parent: scope), into: &captured)
                try write(try applyFilters(filters, to: .string(captured), in: scope).pythonString, to: &out)
            case .with(let assignments, let body):
                let inner = JinjaScope(parent: scope)
                for (name, expression) in assignments { inner.set(name, try evaluate(expression, in: scope)) }
                let flow = try render(body, in: inner, into: &out)
                if flow != .normal { return flow }
            case .breakLoop:
                return .breakLoop
            case .continueLoop:
                return .continueLoop
            case .generation(let body):
                _ = try render(body, in: JinjaScope(parent: scope), into: &out)
            }
        }
        return .normal
    }

    /// Runs `work`, giving an error without a line the line `line`.
    func at<T>(_ line: Int, _ work: () throws -> T) throws -> T {
        do {
            return try work()
        } catch let error as JinjaError {
            throw error.at(line: line)
        }
    }

    /// A for loop: the items (after the inline `if` filter), each in a fresh scope with `loop`.
    private func renderLoop(target: JinjaTarget, iterable: JinjaExpression, filter: JinjaExpression?,
                            body: [JinjaNode], otherwise: [JinjaNode], in scope: JinjaScope, into out: inout String) throws {
        var items = try evaluate(iterable, in: scope).iterated()
        if let filter {
            items = try items.filter { item in
                let probe = JinjaScope(parent: scope)
                try assign(target, item, in: probe)
                return try evaluate(filter, in: probe).truthy
            }
        }
        if items.isEmpty {
            _ = try render(otherwise, in: JinjaScope(parent: scope), into: &out)
            return
        }
        for index in items.indices {
            try step()
            let iteration = JinjaScope(parent: scope)
            try assign(target, items[index], in: iteration)
            iteration.set("loop", .loop(JinjaLoop(items: items, index0: index, depth: 1)))
            if try render(body, in: iteration, into: &out) == .breakLoop { break }
        }
    }

    /// Stores `value` in `target` within `scope`.
    func assign(_ target: JinjaTarget, _ value: JinjaValue, in scope: JinjaScope) throws {
        switch target {
        case .name(let name):
            scope.set(name, value)
        case .names(let names):
            let items = try value.iterated()
            guard items.count == names.count else {
                throw JinjaError.runtime(items.count < names.count
                    ? "not enough values to unpack (expected \(names.count), got \(items.count))"
                    : "too many values to unpack (expected \(names.count))")
            }
            for (name, item) in zip(names, items) { scope.set(name, item) }
        case .attribute(let name, let attribute):
            guard case .namespace(let namespace)? = scope.lookup(name) else {
                throw JinjaError.runtime("cannot assign attribute '\(attribute)' on '\(name)', which is not a namespace")
            }
            namespace.attributes[attribute] = value
        }
    }

    /// Passes `value` through a chain of filters.
    private func applyFilters(_ filters: [(name: String, arguments: [JinjaArgument], line: Int)], to value: JinjaValue,
                              in scope: JinjaScope) throws -> JinjaValue {
        var result = value
        for filter in filters {
            result = try at(filter.line) {
                let (positional, keywords) = try evaluate(filter.arguments, in: scope)
                return try JinjaFilters.apply(filter.name, to: result, positional, keywords, renderer: self)
            }
        }
        return result
    }

    /// Calls a macro: binds its parameters (missing ones from their defaults, else undefined;
    /// extra positional arguments in `varargs`, extra keywords in `kwargs`), then renders its body.
    func callMacro(_ macro: JinjaMacro, _ positional: [JinjaValue], _ keywords: [(String, JinjaValue)],
                   caller: JinjaValue? = nil) throws -> JinjaValue {
        try step()
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= options.maximumCallDepth else {
            throw JinjaError.runtime("macro '\(macro.name)' nested more than \(options.maximumCallDepth) calls deep")
        }
        let scope = JinjaScope(parent: macro.scope)
        var keywordsLeft = keywords
        for (index, parameter) in macro.parameters.enumerated() {
            if index < positional.count {
                scope.set(parameter.name, positional[index])
            } else if let found = keywordsLeft.firstIndex(where: { $0.0 == parameter.name }) {
                scope.set(parameter.name, keywordsLeft.remove(at: found).1)
            } else if let defaultValue = parameter.defaultValue {
                scope.set(parameter.name, try evaluate(defaultValue, in: scope))
            } else {
                scope.set(parameter.name, .undefined(description: "missing argument '\(parameter.name)' of macro '\(macro.name)'"))
            }
        }
        scope.set("varargs", .list(Array(positional.dropFirst(macro.parameters.count))))
        scope.set("kwargs", .dict(JinjaDict(keywordsLeft)))
        if let caller { scope.set("caller", caller) }
        var out = ""
        _ = try render(macro.body, in: scope, into: &out)
        return .string(out)
    }
}
