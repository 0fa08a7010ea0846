import CScoreHeader
import Foundation

/// The live handles of one kind. A handle is a retained object's address; every call checks
/// that the address it gets is live, so a freed or foreign pointer is an error, not a crash.
final class HandleTable<Object: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var live = Set<UnsafeMutableRawPointer>()
    private let kind: String

    init(kind: String) { self.kind = kind }

    /// Registers `object` and returns its handle (the table keeps it alive).
    func register(_ object: Object) -> OpaquePointer {
        let address = Unmanaged.passRetained(object).toOpaque()
        lock.withLock { _ = live.insert(address) }
        return OpaquePointer(address)
    }

    /// The object of a live handle; throws for NULL or a handle that is not live.
    func object(_ handle: OpaquePointer?) throws -> Object {
        guard let handle else { throw APIFailure.invalid("the \(kind) handle is NULL") }
        let address = UnsafeMutableRawPointer(handle)
        return try lock.withLock {
            guard live.contains(address) else {
                throw APIFailure.invalid("\(address) is not a live \(kind) handle (freed, or not made by this library)")
            }
            return Unmanaged<Object>.fromOpaque(address).takeUnretainedValue()
        }
    }

    /// Forgets and releases a handle; NULL or a handle that is not live is ignored.
    func free(_ handle: OpaquePointer?) {
        guard let handle else { return }
        let address = UnsafeMutableRawPointer(handle)
        let removed = lock.withLock { live.remove(address) != nil }
        if removed { Unmanaged<Object>.fromOpaque(address).release() }
    }
}
