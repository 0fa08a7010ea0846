/// Attribute access (`x.name`), subscripts (`x[i]`) and slices (`x[a:b:c]`) as Jinja's sandboxed
/// environment resolves them: an attribute is looked up as a method first and then as an item,
/// a subscript as an item first and then as an attribute; what is not found is `Undefined`.
/// Only `Undefined` itself refuses access (Jinja's `UndefinedError`).
extension JinjaValue {
    /// `self.name`.
    func attribute(_ name: String) throws -> JinjaValue {
        switch self {
        case .undefined(let description):
            throw JinjaError.runtime(description)
        case .dict(let dict):
            if JinjaMethods.dictMethods.contains(name) { return .callable(.method(self, name)) }
            return dict[name] ?? missing(name)
        case .namespace(let namespace):
            return namespace.attributes[name] ?? missing(name)
        case .loop(let loop):
            return loop.attribute(name) ?? missing(name)
        case .string:
            return JinjaMethods.stringMethods.contains(name) ? .callable(.method(self, name)) : missing(name)
        case .list, .tuple:
            return JinjaMethods.listMethods.contains(name) ? .callable(.method(self, name)) : missing(name)
        default:
            return missing(name)
        }
    }

    /// `self[key]`.
    func item(_ key: JinjaValue) throws -> JinjaValue {
        switch (self, key) {
        case (.undefined(let description), _):
            throw JinjaError.runtime(description)
        case (.dict(let dict), .string(let name)):
            return try dict[name] ?? attribute(name)
        case (.list(let items), _), (.tuple(let items), _):
            if case .int(let index)? = key.number { return Self.element(items, index) ?? missing(index: index) }
        case (.string(let text), _):
            if case .int(let index)? = key.number {
                let scalars = Array(text.unicodeScalars)
                return Self.element(scalars, index).map { .string(String($0)) } ?? missing(index: index)
            }
        default:
            break
        }
        if case .string(let name) = key { return try attribute(name) }
        return .undefined(description: "'\(typeName) object' has no item \(key.pythonRepr)")
    }

    /// The item at a Python index (negative from the end), or nil when out of range.
    private static func element<T>(_ items: [T], _ index: Int) -> T? {
        let position = index < 0 ? items.count + index : index
        return position >= 0 && position < items.count ? items[position] : nil
    }

    /// `Undefined` for a missing attribute.
    private func missing(_ name: String) -> JinjaValue {
        .undefined(description: "'\(typeName) object' has no attribute '\(name)'")
    }

    /// `Undefined` for a missing index.
    private func missing(index: Int) -> JinjaValue {
        .undefined(description: "'\(typeName) object' has no item \(index)")
    }

    /// `self[start:stop:step]` of a list, tuple or string, with Python's rules for missing,
    /// negative and out-of-range bounds.
    func sliced(start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?) throws -> JinjaValue {
        func bound(_ value: JinjaValue?) throws -> Int? {
            guard let value else { return nil }
            if case .none = value { return nil }
            guard case .int(let number)? = value.number else {
                throw JinjaError.runtime("slice indices must be integers or None, not \(value.typeName)")
            }
            return number
        }
        let stride = try bound(step) ?? 1
        guard stride != 0 else { throw JinjaError.runtime("slice step cannot be zero") }
        let (first, last) = (try bound(start), try bound(stop))
        switch self {
        case .list(let items): return .list(Self.slice(items, first, last, stride))
        case .tuple(let items): return .tuple(Self.slice(items, first, last, stride))
        case .string(let text):
            var out = String.UnicodeScalarView()
            out.append(contentsOf: Self.slice(Array(text.unicodeScalars), first, last, stride))
            return .string(String(out))
        case .undefined(let description):
            throw JinjaError.runtime(description)
        default:
            throw JinjaError.runtime("'\(typeName)' object is not subscriptable")
        }
    }

    /// Python's slice of `items` (`PySlice_AdjustIndices`).
    static func slice<T>(_ items: [T], _ start: Int?, _ stop: Int?, _ step: Int) -> [T] {
        let count = items.count
        func adjust(_ value: Int?, _ fallback: Int) -> Int {
            guard var index = value else { return fallback }
            if index < 0 {
                index += count
                if index < 0 { index = step < 0 ? -1 : 0 }
            } else if index >= count {
                index = step < 0 ? count - 1 : count
            }
            return index
        }
        var out = [T]()
        if step > 0 {
            var i = adjust(start, 0)
            let end = adjust(stop, count)
            while i < end {
                out.append(items[i])
                let next = i.addingReportingOverflow(step)
                if next.overflow { break }
                i = next.partialValue
            }
        } else {
            var i = adjust(start, count - 1)
            let end = adjust(stop, -1)
            while i > end {
                if i >= 0 && i < count { out.append(items[i]) }
                let next = i.addingReportingOverflow(step)
                if next.overflow { break }
                i = next.partialValue
            }
        }
        return out
    }
}
