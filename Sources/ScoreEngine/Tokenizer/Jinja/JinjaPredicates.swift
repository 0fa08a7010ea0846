/// Jinja's tests (`x is defined`, `x is string`, `x is divisibleby 3`…), with Python's notion of
/// types: booleans are numbers but not integers, `Undefined` is iterable, strings are sequences.
enum JinjaPredicates {
    /// The tests implemented (aliases included).
    static let names: Set<String> = [
        "defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number", "string", "mapping",
        "iterable", "sequence", "callable", "sameas", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le",
        "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "odd", "even", "divisibleby", "lower", "upper", "escaped",
        "filter", "test",
    ]

    /// Whether `value` passes the test `name`.
    static func test(_ name: String, _ value: JinjaValue, _ positional: [JinjaValue], _ keywords: [(String, JinjaValue)],
                     renderer: JinjaRenderer) throws -> Bool {
        guard names.contains(name) else { throw JinjaError.unsupported("chat template uses unsupported test '\(name)'") }
        let args = try JinjaArguments("test '\(name)'", positional, keywords, names: ["other"])
        func other() throws -> JinjaValue {
            guard let other = args["other"] else { throw JinjaError.runtime("test '\(name)' needs an argument") }
            return other
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "false": if case .bool(false) = value { return true } else { return false }
        case "true": if case .bool(true) = value { return true } else { return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "number": return value.number != nil
        case "string": if case .string = value { return true } else { return false }
        case "mapping": if case .dict = value { return true } else { return false }
        case "iterable", "sequence":
            switch value {
            case .undefined, .string, .list, .tuple, .dict: return true
            default: return false
            }
        case "callable":
            switch value {
            case .callable: return true
            default: return false
            }
        case "sameas":
            let target = try other()
            switch (value, target) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            case (.int(let a), .int(let b)): return a == b
            case (.string(let a), .string(let b)): return a == b
            default: return false
            }
        case "eq", "equalto", "==": return value.pythonEquals(try other())
        case "ne", "!=": return !value.pythonEquals(try other())
        case "lt", "lessthan", "<": return try value.pythonCompare(try other()) < 0
        case "le", "<=": return try value.pythonCompare(try other()) <= 0
        case "gt", "greaterthan", ">": return try value.pythonCompare(try other()) > 0
        case "ge", ">=": return try value.pythonCompare(try other()) >= 0
        case "in": return try other().pythonContains(value)
        case "odd", "even", "divisibleby":
            guard case .int(let number)? = value.number else {
                throw JinjaError.runtime("test '\(name)' needs an integer, not \(value.typeName)")
            }
            if name == "odd" { return number % 2 != 0 }
            if name == "even" { return number % 2 == 0 }
            guard case .int(let divisor)? = try other().number, divisor != 0 else {
                throw JinjaError.runtime("test 'divisibleby' needs a non-zero integer")
            }
            return divisor == -1 || number % divisor == 0
        case "lower", "upper":
            guard case .string(let text) = value else { return false }
            let cased = text.unicodeScalars.filter(PythonText.isCased)
            return !cased.isEmpty && cased.allSatisfy { name == "lower" ? !$0.properties.isUppercase : !$0.properties.isLowercase }
        case "escaped": return false
        case "filter":
            guard case .string(let filter) = value else { return false }
            return JinjaFilters.names.contains(filter)
        case "test":
            guard case .string(let test) = value else { return false }
            return names.contains(test)
        default:
            throw JinjaError.unsupported("chat template uses unsupported test '\(name)'")
        }
    }
}
