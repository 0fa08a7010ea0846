import Foundation

/// A contiguous, owned, zero-initialised block of Float32 values. Reference type: kernels write
/// through `pointer` without copy-on-write checks. The pointer is the package's own; other code
/// reads and writes through the bounds-checked subscript, `array` or the scoped
/// `withUnsafe…BufferPointer` calls.
public final class FloatBuffer: @unchecked Sendable {
    /// Start of the storage; valid for `count` elements while the buffer lives.
    package let pointer: UnsafeMutablePointer<Float>
    /// Number of elements.
    public let count: Int

    /// Allocates `count` zeros. The zeros come from `calloc`, so a large buffer takes physical
    /// memory only where it is written (a frozen reference model never writes its gradients).
    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        guard let memory = calloc(max(count, 1), MemoryLayout<Float>.stride) else {
            preconditionFailure("FloatBuffer: cannot allocate \(count) floats")
        }
        pointer = memory.assumingMemoryBound(to: Float.self)
    }

    /// Copies the values of an array.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { free(pointer) }

    /// The elements as a buffer pointer.
    package var buffer: UnsafeMutableBufferPointer<Float> { .init(start: pointer, count: count) }

    /// A copy of the elements as an array.
    public var array: [Float] { Array(buffer) }

    /// Element `index`, bounds-checked.
    public subscript(index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "FloatBuffer index \(index) outside 0..<\(count)")
            return pointer[index]
        }
        set {
            precondition(index >= 0 && index < count, "FloatBuffer index \(index) outside 0..<\(count)")
            pointer[index] = newValue
        }
    }

    /// Calls `body` with the elements; the pointer must not escape it.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(buffer))
    }

    /// Calls `body` with the elements, writable; the pointer must not escape it.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(buffer)
    }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// Sets the first `count` elements to zero.
    public func zero(count: Int) {
        precondition(count <= self.count, "FloatBuffer zero past its end")
        pointer.update(repeating: 0, count: count)
    }

    /// Copies the first `count` elements of `other`.
    public func copy(from other: FloatBuffer, count: Int) {
        precondition(count <= self.count && count <= other.count, "FloatBuffer copy past an end")
        pointer.update(from: other.pointer, count: count)
    }

    /// Copies every element of `other` (same count).
    public func copy(from other: FloatBuffer) {
        precondition(other.count == count, "FloatBuffer copy between different sizes")
        pointer.update(from: other.pointer, count: count)
    }
}
