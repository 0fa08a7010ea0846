/// A value inside a Jinja template: Python's types as chat templates see them (the messages are
/// lists and dicts of strings), plus Jinja's `Undefined`, namespaces, loop objects and callables.
enum JinjaValue {
    /// Jinja's default `Undefined`: a missing variable, attribute or item. Falsy, renders as
    /// nothing, iterates as empty; most other uses are errors that quote `description`.
    case undefined(description: String)
    /// Python's `None`.
    case none
    /// A boolean.
    case bool(Bool)
    /// An integer (64-bit here; overflow is an error rather than Python's big integers).
    case int(Int)
    /// A float.
    case double(Double)
    /// A string.
    case string(String)
    /// A list.
    case list([JinjaValue])
    /// A tuple (as `dict.items()` yields); like a list, but unequal to one and written `(a, b)`.
    case tuple([JinjaValue])
    /// A dict with string keys, in insertion order.
    case dict(JinjaDict)
    /// A `namespace()` object, whose attributes `{% set ns.x = … %}` changes in place.
    case namespace(JinjaNamespace)
    /// The `loop` variable of a for loop.
    case loop(JinjaLoop)
    /// Something callable: a global function, a macro, a bound method.
    case callable(JinjaCallable)

    /// An undefined variable.
    static func undefinedName(_ name: String) -> JinjaValue {
        .undefined(description: "'\(name)' is undefined")
    }

    /// Whether this is `Undefined`.
    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's truth value (`bool(x)`).
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let value): return value
        case .int(let value): return value != 0
        case .double(let value): return value != 0
        case .string(let value): return !value.isEmpty
        case .list(let items), .tuple(let items): return !items.isEmpty
        case .dict(let dict): return !dict.isEmpty
        case .namespace, .loop, .callable: return true
        }
    }

    /// The Python type name, for error messages ("str", "int", "dict"…).
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .loop: return "LoopContext"
        case .callable: return "function"
        }
    }

    /// The items of a value a for loop or a filter iterates over: a list's or tuple's items, a
    /// string's characters (code points, as Python), a dict's keys; nothing for `Undefined`.
    func iterated() throws -> [JinjaValue] {
        switch self {
        case .undefined: return []
        case .list(let items), .tuple(let items): return items
        case .string(let text): return text.unicodeScalars.map { .string(String($0)) }
        case .dict(let dict): return dict.keys.map { .string($0) }
        default: throw JinjaError.runtime("'\(typeName)' object is not iterable")
        }
    }

    /// Python's `len()`: of a string (code points), list, tuple or dict; 0 for `Undefined`.
    func length() throws -> Int {
        switch self {
        case .undefined: return 0
        case .string(let text): return text.unicodeScalars.count
        case .list(let items), .tuple(let items): return items.count
        case .dict(let dict): return dict.count
        default: throw JinjaError.runtime("object of type '\(typeName)' has no len()")
        }
    }

    /// The value as a number for arithmetic: ints (and booleans, as Python) exactly, floats as is.
    var number: JinjaNumber? {
        switch self {
        case .bool(let value): return .int(value ? 1 : 0)
        case .int(let value): return .int(value)
        case .double(let value): return .double(value)
        default: return nil
        }
    }
}

/// An int or a float, for arithmetic.
enum JinjaNumber {
    case int(Int)
    case double(Double)

    /// The value as a float.
    var double: Double {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        }
    }
}

/// A dict with string keys that remembers insertion order (as Python's dict does, which
/// `tojson` and `items` show).
struct JinjaDict {
    /// The keys in insertion order.
    private(set) var keys: [String] = []
    /// The values by key.
    private var values: [String: JinjaValue] = [:]

    /// An empty dict.
    init() {}

    /// A dict of the given entries, in order; a repeated key keeps its first place and last value.
    init(_ entries: [(String, JinjaValue)]) {
        for (key, value) in entries { self[key] = value }
    }

    /// Number of entries.
    var count: Int { keys.count }
    /// Whether there are no entries.
    var isEmpty: Bool { keys.isEmpty }

    /// The entries in order.
    var entries: [(key: String, value: JinjaValue)] {
        keys.compactMap { key in values[key].map { (key, $0) } }
    }

    /// The value for `key`; setting adds the key at the end when new.
    subscript(key: String) -> JinjaValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }
}

/// The object `namespace(...)` makes: attributes that assignments inside loops can change.
final class JinjaNamespace {
    /// The attributes.
    var attributes: JinjaDict

    /// A namespace with the given attributes.
    init(_ attributes: JinjaDict) {
        self.attributes = attributes
    }
}

/// What `loop` tells inside a for loop.
struct JinjaLoop {
    /// The items the loop runs over (after its `if` filter).
    let items: [JinjaValue]
    /// The current position, from 0.
    let index0: Int
    /// Nesting depth of a recursive loop, from 1 (always 1 here).
    let depth: Int

    /// The attribute `name` (`index`, `first`, `length`…), or nil when there is no such one.
    func attribute(_ name: String) -> JinjaValue? {
        let count = items.count
        switch name {
        case "index": return .int(index0 + 1)
        case "index0": return .int(index0)
        case "revindex": return .int(count - index0)
        case "revindex0": return .int(count - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == count - 1)
        case "length": return .int(count)
        case "depth": return .int(depth)
        case "depth0": return .int(depth - 1)
        case "previtem":
            return index0 > 0 && index0 - 1 < count ? items[index0 - 1] : .undefined(description: "there is no previous item")
        case "nextitem":
            return index0 + 1 < count ? items[index0 + 1] : .undefined(description: "there is no next item")
        case "cycle": return .callable(.method(.loop(self), "cycle"))
        case "changed": return .callable(.method(.loop(self), "changed"))
        default: return nil
        }
    }
}

/// A function a template can call.
enum JinjaCallable {
    /// A global function (`range`, `namespace`, `raise_exception`…), by name.
    case global(String)
    /// A method bound to its receiver (`text.strip`, `message.get`, `loop.cycle`).
    indirect case method(JinjaValue, String)
    /// A macro defined with `{% macro %}`.
    case macro(JinjaMacro)
}

/// A macro: its parameters with their default expressions, and its body.
final class JinjaMacro {
    /// Its name.
    let name: String
    /// Parameter names with default values (nil: required).
    let parameters: [(name: String, defaultValue: JinjaExpression?)]
    /// The body it renders.
    let body: [JinjaNode]
    /// The scope its default values and body see besides their parameters.
    let scope: JinjaScope
    /// For a `{% call %}` block's `caller`: the scope the block was written in.
    let isCaller: Bool

    /// A macro.
    init(name: String, parameters: [(name: String, defaultValue: JinjaExpression?)], body: [JinjaNode],
         scope: JinjaScope, isCaller: Bool = false) {
        self.name = name
        self.parameters = parameters
        self.body = body
        self.scope = scope
        self.isCaller = isCaller
    }
}

/// A scope of variables: lookups go up through the parents.
final class JinjaScope {
    /// The enclosing scope.
    let parent: JinjaScope?
    /// The variables set in this scope.
    private(set) var variables: [String: JinjaValue] = [:]

    /// A scope inside `parent` (nil: the outermost).
    init(parent: JinjaScope?) {
        self.parent = parent
    }

    /// The value of `name` here or in an enclosing scope.
    func lookup(_ name: String) -> JinjaValue? {
        var scope: JinjaScope? = self
        while let current = scope {
            if let value = current.variables[name] { return value }
            scope = current.parent
        }
        return nil
    }

    /// Sets `name` in this scope.
    func set(_ name: String, _ value: JinjaValue) {
        variables[name] = value
    }

    /// Forgets every variable of this scope (breaking reference cycles through macros).
    func removeAll() { variables = [:] }
}
