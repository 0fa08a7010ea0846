import CScoreHeader
import Foundation

/// Checks of what crosses the ABI: pointers, text, counts, struct sizes.
enum Arguments {
    /// The longest text accepted (bytes), so a missing terminator fails instead of reading on.
    static let maximumTextBytes = 1 << 26
    /// The most items one call accepts (prompts, tokens, examples).
    static let maximumCount = 1 << 24

    /// `pointer`, or an error naming the argument when it is NULL.
    static func required<T>(_ pointer: T?, _ name: String) throws -> T {
        guard let pointer else { throw APIFailure.invalid("\(name) is NULL") }
        return pointer
    }

    /// The NUL-terminated UTF-8 text at `pointer`; NULL and invalid UTF-8 are errors.
    static func text(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
        let pointer = try required(pointer, name)
        let length = strnlen(pointer, maximumTextBytes)
        guard length < maximumTextBytes else {
            throw APIFailure.invalid("\(name) is longer than \(maximumTextBytes) bytes (missing NUL terminator?)")
        }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APIFailure.invalid("\(name) is not valid UTF-8")
        }
        return text
    }

    /// Text that may be NULL.
    static func optionalText(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String? {
        guard let pointer else { return nil }
        return try text(pointer, name)
    }

    /// `count` texts from an array of C strings.
    static func texts(_ array: UnsafePointer<UnsafePointer<CChar>?>?, count: Int, _ name: String) throws -> [String] {
        let array = try required(array, name)
        return try (0..<count).map { try text(array[$0], "\(name)[\($0)]") }
    }

    /// A C count as Int, checked against `maximumCount` and, when `nonZero`, against zero.
    static func count(_ value: Int, _ name: String, nonZero: Bool = true) throws -> Int {
        guard value >= 0, value <= maximumCount else {
            throw APIFailure.invalid("\(name) \(UInt(bitPattern: value)) exceeds \(maximumCount)")
        }
        if nonZero, value == 0 { throw APIFailure.invalid("\(name) is 0") }
        return value
    }

    /// A caller buffer's capacity: a size_t above Int.max arrives negative and means "plenty".
    static func capacity(_ value: Int) -> Int { value < 0 ? Int.max : value }

    /// Throws unless the struct's first field holds the size this library was built with.
    static func structSize(_ actual: UInt32, of type: String, expected: Int) throws {
        guard Int(actual) == expected else {
            throw APIFailure.invalid("\(type).struct_size is \(actual), this library expects \(expected) "
                                     + "(call the init function; header and library versions must match)")
        }
    }

    /// The host's options struct (its struct_size checked), or the defaults `initialize` fills
    /// when the pointer is NULL.
    static func options<T>(_ pointer: UnsafePointer<T>?, _ type: String, structSize: (T) -> UInt32,
                           defaults initialize: (UnsafeMutablePointer<T>?) -> Void) throws -> T {
        if let pointer {
            try Arguments.structSize(structSize(pointer.pointee), of: type, expected: MemoryLayout<T>.size)
            return pointer.pointee
        }
        let value = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { value.deallocate() }
        initialize(value)
        return value.pointee
    }

    /// A finite float, else an error naming it.
    static func finite(_ value: Float, _ name: String) throws -> Float {
        guard value.isFinite else { throw APIFailure.invalid("\(name) is \(value), expected a finite number") }
        return value
    }

    /// A copy of `text` in memory the host releases with score_free.
    static func allocatedText(_ text: String) throws -> UnsafeMutablePointer<CChar> {
        guard let copy = strdup(text) else { throw APIFailure(status: SCORE_ERR_INTERNAL, message: "out of memory") }
        return copy
    }
}
