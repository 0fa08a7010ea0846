import Foundation

/// The functions every chat template can call: Jinja's `range`, `namespace` and `dict`, and
/// `transformers`' `raise_exception(message)` and `strftime_now(format)`.
enum JinjaGlobals {
    /// Names of the global functions.
    static let names: Set<String> = ["range", "namespace", "dict", "raise_exception", "strftime_now"]

    /// Longest list `range` may make.
    static let maximumRange = 1 << 20

    /// The global `name`, or nil when there is none by that name.
    static func value(named name: String) -> JinjaValue? {
        names.contains(name) ? .callable(.global(name)) : nil
    }

    /// Calls the global function `name`.
    static func call(_ name: String, _ positional: [JinjaValue], _ keywords: [(String, JinjaValue)],
                     renderer: JinjaRenderer) throws -> JinjaValue {
        switch name {
        case "range":
            guard keywords.isEmpty, (1...3).contains(positional.count) else {
                throw JinjaError.runtime("range() takes 1 to 3 positional arguments")
            }
            let bounds = try positional.map { value -> Int in
                guard case .int(let number)? = value.number else {
                    throw JinjaError.runtime("range() arguments must be integers, not \(value.typeName)")
                }
                return number
            }
            let (start, stop) = bounds.count == 1 ? (0, bounds[0]) : (bounds[0], bounds[1])
            let step = bounds.count == 3 ? bounds[2] : 1
            guard step != 0 else { throw JinjaError.runtime("range() arg 3 must not be zero") }
            let span = step > 0 ? stop.subtractingReportingOverflow(start) : start.subtractingReportingOverflow(stop)
            guard !span.overflow else { throw JinjaError.runtime("range() too large") }
            let count = span.partialValue <= 0 ? 0 : Int((UInt(span.partialValue) - 1) / step.magnitude) + 1
            guard count <= maximumRange else { throw JinjaError.runtime("range() of more than \(maximumRange) items") }
            return .list((0..<count).map { .int(start + $0 * step) })
        case "namespace", "dict":
            var attributes = JinjaDict()
            guard positional.count <= 1 else { throw JinjaError.runtime("\(name)() takes at most one positional argument") }
            if let initial = positional.first {
                switch initial {
                case .dict(let dict): attributes = dict
                case .namespace(let namespace): attributes = namespace.attributes
                default:
                    for pair in try initial.iterated() {
                        let items = try pair.iterated()
                        guard items.count == 2, case .string(let key) = items[0] else {
                            throw JinjaError.runtime("\(name)() needs key/value pairs with string keys")
                        }
                        attributes[key] = items[1]
                    }
                }
            }
            for (key, value) in keywords { attributes[key] = value }
            if name == "dict" { return .dict(attributes) }
            let namespace = JinjaNamespace(attributes)
            renderer.namespaces.append(namespace)
            return .namespace(namespace)
        case "raise_exception":
            let message = positional.first?.pythonString ?? ""
            throw JinjaError(kind: .raised, message: message, line: nil)
        case "strftime_now":
            guard keywords.isEmpty, positional.count == 1, case .string(let format) = positional[0] else {
                throw JinjaError.runtime("strftime_now() takes one format string")
            }
            return .string(try strftime(format, renderer.options.now, timeZone: renderer.options.timeZone))
        default:
            throw JinjaError.unsupported("chat template calls unsupported function '\(name)'")
        }
    }

    /// Python's `datetime.strftime` for the directives chat templates use (`%d %b %Y`, `%B`,
    /// `%m`, `%y`, `%H:%M:%S`, `%A`, `%a`, `%j`, `%p`, `%I`, `%e`, `%%`), in the C locale.
    static func strftime(_ format: String, _ date: Date, timeZone: TimeZone) throws -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                      "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        let year = parts.year ?? 1970, month = max(1, min(12, parts.month ?? 1)), day = parts.day ?? 1
        let hour = parts.hour ?? 0, minute = parts.minute ?? 0, second = parts.second ?? 0
        let weekday = max(1, min(7, parts.weekday ?? 1))
        func padded(_ value: Int, _ width: Int = 2) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        var out = ""
        var scalars = format.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "%" else {
                out.unicodeScalars.append(scalar)
                continue
            }
            guard let directive = scalars.next() else {
                out += "%"
                break
            }
            switch directive {
            case "d": out += padded(day)
            case "e": out += day < 10 ? " \(day)" : String(day)
            case "m": out += padded(month)
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "B": out += months[month - 1]
            case "Y": out += String(year)
            case "y": out += padded(year % 100)
            case "H": out += padded(hour)
            case "I": out += padded(hour % 12 == 0 ? 12 : hour % 12)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "M": out += padded(minute)
            case "S": out += padded(second)
            case "a": out += String(days[weekday - 1].prefix(3))
            case "A": out += days[weekday - 1]
            case "j": out += padded(calendar.ordinality(of: .day, in: .year, for: date) ?? 1, 3)
            case "%": out += "%"
            default:
                throw JinjaError.unsupported("chat template uses unsupported strftime_now directive '%\(directive)'")
            }
        }
        return out
    }
}
